import { DecodeError, type WireData } from '@switchyard/core';

/**
 * What the producer stores as a job's `data`: the codec's output (base64 for a binary codec's bytes)
 * and, for a query, the pub/sub channel its reply goes to. Consumers also read an `envelope` stored
 * as an object (the JSON envelope itself) — a form this version does not write: carrying the envelope
 * as an object measured no faster at ~100-byte payloads and would make older consumers fail such
 * jobs, so producers keep writing the string every version reads.
 */
export interface JobData {
  /** The envelope: the encoded text, its base64 when `encoding` is `"base64"`, or (read only) the object. */
  readonly envelope: string | Record<string, unknown>;
  /** Present when `envelope` holds base64 of a binary codec's bytes. */
  readonly encoding?: 'base64';
  /** For a query: the Redis pub/sub channel the consumer publishes the reply to. */
  readonly replyTo?: string;
  /**
   * Set by a consumer on a message it moved out of a pack as a dead letter (see {@link PackData}):
   * the job fails at once with this reason and the message is not handled again. `DeadLetters`
   * removes it when the job is replayed.
   */
  readonly failedReason?: string;
}

/**
 * The data of a pack: a job that carries several messages (the producer's `messagesPerJob`), each
 * as the {@link JobData} its own job would have had.
 */
export interface PackData {
  readonly pack: readonly JobData[];
}

/** The name of a pack's job. */
export const PACK_JOB_NAME = 'switchyard.pack';

/** Whether job data is an object with fields (what every form of Switchyard's job data is). */
export function isDataObject(data: unknown): data is Record<string, unknown> {
  return typeof data === 'object' && data !== null && !Array.isArray(data);
}

/** The messages of a pack's job data, or `undefined` when the data is not a pack. */
export function packOf(data: unknown): readonly unknown[] | undefined {
  const pack = isDataObject(data) ? data.pack : undefined;
  return Array.isArray(pack) ? pack : undefined;
}

/** The reason a message moved out of a pack as a dead letter fails with, or `undefined`. */
export function movedDeadLetter(data: unknown): string | undefined {
  const reason = isDataObject(data) ? data.failedReason : undefined;
  return typeof reason === 'string' ? reason : undefined;
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

/** An envelope read from job data: parsed already (an object) or wire data for the codec's `decode`. */
export type JobEnvelope = { readonly object: unknown } | { readonly data: WireData };

/** Reads job data written by {@link toJobData} (either form); throws `DecodeError` for anything else. */
export function fromJobData(data: unknown): { envelope: JobEnvelope; replyTo: string | undefined } {
  if (!isDataObject(data)) throw new DecodeError('The job data is not an object with an "envelope"');
  const { envelope, encoding, replyTo } = data;
  if (replyTo !== undefined && (typeof replyTo !== 'string' || replyTo.length === 0)) {
    throw new DecodeError('The job data field "replyTo" must be a non-empty string');
  }
  if (typeof envelope === 'object' && envelope !== null && !Array.isArray(envelope)) {
    if (encoding !== undefined)
      throw new DecodeError('The job data field "encoding" is for string envelopes');
    return { envelope: { object: envelope }, replyTo };
  }
  if (typeof envelope !== 'string') throw new DecodeError('The job data has no "envelope" object or string');
  if (encoding !== undefined && encoding !== 'base64') {
    throw new DecodeError('The job data field "encoding" must be "base64" when present');
  }
  return {
    envelope: { data: encoding === 'base64' ? new Uint8Array(Buffer.from(envelope, 'base64')) : envelope },
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
