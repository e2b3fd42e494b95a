import { DecodeError, type WireData } from '@switchyard/core';

/**
 * What the producer stores as a job's `data`: the codec's output, and for a query the pub/sub
 * channel its reply goes to. Bytes from a binary codec travel as base64.
 */
export interface JobData {
  /** The encoded envelope (base64 when `encoding` is `"base64"`). */
  readonly envelope: string;
  /** Present when `envelope` holds base64 of a binary codec's bytes. */
  readonly encoding?: 'base64';
  /** For a query: the Redis pub/sub channel the consumer publishes the reply to. */
  readonly replyTo?: string;
}

/** Builds the job data for an encoded envelope. */
export function toJobData(envelope: WireData, replyTo: string | undefined): JobData {
  const text = typeof envelope === 'string';
  const data: { envelope: string; encoding?: 'base64'; replyTo?: string } = {
    envelope: text
      ? envelope
      : Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength).toString('base64'),
  };
  if (!text) data.encoding = 'base64';
  if (replyTo !== undefined) data.replyTo = replyTo;
  return data;
}

/** Reads job data written by {@link toJobData}; throws `DecodeError` for anything else. */
export function fromJobData(data: unknown): { envelope: WireData; replyTo: string | undefined } {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new DecodeError('The job data is not an object with an "envelope"');
  }
  const { envelope, encoding, replyTo } = data as Record<string, unknown>;
  if (typeof envelope !== 'string') throw new DecodeError('The job data has no string "envelope"');
  if (replyTo !== undefined && (typeof replyTo !== 'string' || replyTo.length === 0)) {
    throw new DecodeError('The job data field "replyTo" must be a non-empty string');
  }
  if (encoding !== undefined && encoding !== 'base64') {
    throw new DecodeError('The job data field "encoding" must be "base64" when present');
  }
  return {
    envelope: encoding === 'base64' ? new Uint8Array(Buffer.from(envelope, 'base64')) : envelope,
    replyTo,
  };
}

/** Marks a reply published as base64 (a binary codec's bytes); JSON and other text never starts with NUL. */
const BINARY_REPLY = '\u0000';

/** Turns an encoded reply into a pub/sub message. */
export function toReplyMessage(reply: WireData): string {
  return typeof reply === 'string'
    ? reply
    : BINARY_REPLY + Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength).toString('base64');
}

/** Reads a pub/sub message written by {@link toReplyMessage}. */
export function fromReplyMessage(message: string): WireData {
  return message.startsWith(BINARY_REPLY) ? new Uint8Array(Buffer.from(message.slice(1), 'base64')) : message;
}
