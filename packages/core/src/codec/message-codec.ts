import type { RemoteErrorInfo } from '../errors.ts';
import type { AnyMessage } from '../message.ts';

/** What travels on the wire: text or bytes. */
export type WireData = string | Uint8Array;

/** A query reply: the result, or what the remote error was. */
export type Reply =
  | { readonly inReplyTo: string; readonly ok: true; readonly result: unknown }
  | { readonly inReplyTo: string; readonly ok: false; readonly error: RemoteErrorInfo };

/**
 * Turns messages and replies into wire data and back. Adapters only ever talk to this interface, so
 * a new wire format (CloudEvents, prooph's `message_name/uuid/payload/metadata/created_at`, msgpack)
 * is a new codec, not a change to any adapter.
 *
 * `decode` and `decodeReply` never trust their input: anything malformed throws a `DecodeError`
 * (or `PayloadTooLargeError`), never another exception, and never returns a polluted object.
 */
export interface MessageCodec {
  /** MIME type of the encoded form, e.g. `application/json`; HTTP uses it as the content type. */
  readonly contentType: string;
  /** Encodes a message; throws `EncodeError` for a payload the format cannot carry. */
  encode(message: AnyMessage): WireData;
  /** Decodes and validates an envelope into a message (frozen unless `freezeMessages(false)` or production, see core). */
  decode(data: WireData): AnyMessage;
  /** Encodes a query reply. */
  encodeReply(reply: Reply): WireData;
  /** Decodes and validates a query reply. */
  decodeReply(data: WireData): Reply;
  /**
   * Optional, for JSON codecs: the envelope as a JSON-ready object, for transports that serialise
   * their own JSON around it (BullMQ's job data), so it is not a JSON string inside JSON. Call it
   * only for a message `encode` accepted (it does not check what JSON can carry).
   */
  encodeObject?(message: AnyMessage): Record<string, unknown>;
  /**
   * Optional, the other half of {@link encodeObject}: decodes and validates an envelope the transport
   * already parsed from JSON, with the same checks as `decode` (size aside: it was parsed already).
   */
  decodeObject?(value: unknown): AnyMessage;
}
