import type { MessageCodec, WireData } from '../codec/message-codec.ts';
import type { AnyMessage } from '../message.ts';

/**
 * One message a durable transport gave up on, the same on every transport that keeps dead letters
 * (BullMQ, Postgres); each adds how it names the letter (`jobId`, `messageId`).
 */
export interface DeadLetterRecord {
  /** The message name. */
  readonly name: string;
  /** Why the last attempt failed, e.g. `SWITCHYARD_DECODE_ERROR: The envelope is not valid JSON` (see `failedReason`). */
  readonly failedReason: string;
  /** Attempts made before it was given up. */
  readonly attemptsMade: number;
  /** When it failed for the last time. */
  readonly failedAt: Date | undefined;
  /** The decoded message, or `undefined` when the envelope cannot be decoded (poison input). */
  readonly message: AnyMessage | undefined;
  /** The raw envelope as stored, or `undefined` when there is none. */
  readonly envelope: WireData | undefined;
}

/**
 * The dead-letter API every durable transport offers: list, inspect, replay (attempts reset) and
 * purge. `id` is what the transport's letters are named by.
 */
export interface DeadLetterQueue<Letter extends DeadLetterRecord> {
  /** How many dead letters there are. */
  count(): Promise<number>;
  /** Dead letters, newest first, `limit` (default 100) from `offset`. */
  list(offset?: number, limit?: number): Promise<Letter[]>;
  /** One dead letter, or `undefined`. */
  get(id: string): Promise<Letter | undefined>;
  /** Puts one back in the queue with its attempts reset; false when there is no such dead letter. */
  replay(id: string): Promise<boolean>;
  /** Puts every dead letter (up to `limit`) back; returns how many. */
  replayAll(limit?: number): Promise<number>;
  /** Deletes one dead letter (`id`) or all of them; returns how many were deleted. */
  purge(id?: string): Promise<number>;
  /** Releases what the object opened. */
  close(): Promise<void>;
}

/** The decoded message of a stored envelope, or `undefined` for poison input (never throws). */
export function decodeDeadLetter(
  codec: MessageCodec,
  envelope: WireData | undefined,
): AnyMessage | undefined {
  if (envelope === undefined) return undefined;
  try {
    return codec.decode(envelope);
  } catch {
    return undefined; // poison input: listed with what there is
  }
}
