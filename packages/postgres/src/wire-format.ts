import { DecodeError, type WireData } from '@switchyard/core';

/**
 * How an encoded envelope is stored in `queue_messages`: the codec's text as is, or base64 of a
 * binary codec's bytes with `encoding = 'base64'`.
 */
export interface StoredEnvelope {
  readonly envelope: string;
  readonly encoding: 'base64' | null;
}

/** The columns for an encoded envelope. */
export function toStored(data: WireData): StoredEnvelope {
  if (typeof data === 'string') return { envelope: data, encoding: null };
  return { envelope: base64(data), encoding: 'base64' };
}

/** The envelope stored by {@link toStored}; a `DecodeError` for an encoding it did not write. */
export function fromStored(envelope: unknown, encoding: unknown): WireData {
  if (typeof envelope !== 'string') throw new DecodeError('The row has no text envelope');
  if (encoding === null || encoding === undefined) return envelope;
  if (encoding === 'base64') return new Uint8Array(Buffer.from(envelope, 'base64'));
  throw new DecodeError(`The row's envelope encoding "${String(encoding)}" is unknown`);
}

/**
 * The largest reply sent in the NOTIFY payload itself, in bytes (PostgreSQL's limit is 8,000 by
 * default). A larger reply is stored in `queue_replies` and only its id is notified.
 */
export const INLINE_REPLY_BYTES = 7_900;

/** A NOTIFY payload for a reply: `t` + text, `b` + base64, or `undefined` when it is too large. */
export function toReplyPayload(reply: WireData): string | undefined {
  const payload = typeof reply === 'string' ? `t${reply}` : `b${base64(reply)}`;
  return payload.length * 3 <= INLINE_REPLY_BYTES || Buffer.byteLength(payload) <= INLINE_REPLY_BYTES
    ? payload
    : undefined;
}

/** What a reply notification carries: the reply, or the id of a stored one (`r<id>`). */
export function fromReplyPayload(payload: string): { readonly reply: WireData } | { readonly rowId: string } {
  const kind = payload[0];
  if (kind === 't') return { reply: payload.slice(1) };
  if (kind === 'b') return { reply: new Uint8Array(Buffer.from(payload.slice(1), 'base64')) };
  if (kind === 'r' && /^\d+$/.test(payload.slice(1))) return { rowId: payload.slice(1) };
  throw new DecodeError('A reply notification in an unknown format');
}

function base64(data: Uint8Array): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64');
}
