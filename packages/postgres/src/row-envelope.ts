import { type AnyMessage, decodeDeadLetter, type MessageCodec, type WireData } from '@switchyard/core';
import { fromStored } from './wire-format.ts';

/** What a stored row of `queue_messages` carries, as listed: the envelope and the message it decodes to. */
export interface RowEnvelope {
  /** The decoded message, or `undefined` for poison input. */
  readonly message: AnyMessage | undefined;
  /** The envelope as stored, or `undefined` when the row's encoding is unknown. */
  readonly envelope: WireData | undefined;
}

/**
 * The envelope of a row (`envelope`, `encoding` columns, see `toStored`) and its decoded message,
 * for the objects that list rows (`DeadLetters`, `ReadyMessages`). Never throws: what cannot be
 * read is `undefined`.
 */
export function rowEnvelope(
  codec: MessageCodec,
  row: { readonly envelope: string; readonly encoding: string | null },
): RowEnvelope {
  let envelope: WireData | undefined;
  try {
    envelope = fromStored(row.envelope, row.encoding);
  } catch {
    envelope = undefined;
  }
  return { message: decodeDeadLetter(codec, envelope), envelope };
}
