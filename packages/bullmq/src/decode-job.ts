import type { AnyMessage, MessageCodec, WireData } from '@switchyard/core';
import { fromJobData } from './job-data.ts';

/** What a stored job carries, as listed: the envelope and the message it decodes to. */
export interface DecodedJob {
  /** The decoded message, or `undefined` for poison input. */
  readonly message: AnyMessage | undefined;
  /** The envelope as stored (one stored as an object: its JSON text), or `undefined` when the job data has none. */
  readonly envelope: WireData | undefined;
}

/**
 * The envelope in a job's `data` (either form `fromJobData` reads) and its decoded message, for the
 * objects that list jobs (`DeadLetters`, `WaitingJobs`). Never throws: what cannot be read is
 * `undefined`.
 */
export function decodeJob(codec: MessageCodec, data: unknown): DecodedJob {
  let envelope: WireData | undefined;
  let message: AnyMessage | undefined;
  try {
    const stored = fromJobData(data).envelope;
    // An envelope stored as an object is listed as its JSON text.
    envelope = 'data' in stored ? stored.data : JSON.stringify(stored.object);
    message =
      'data' in stored || codec.decodeObject === undefined
        ? codec.decode(envelope)
        : codec.decodeObject(stored.object);
  } catch {
    // Poison input: listed with what there is.
  }
  return { message, envelope };
}
