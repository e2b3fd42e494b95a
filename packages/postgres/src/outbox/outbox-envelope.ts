import type { AnyMessage, MessageCodec } from '@switchyard/core';

/** Metadata key of a message's outbox stream: messages of one stream are forwarded in commit order. */
export const OUTBOX_STREAM = 'switchyard.stream';

/** The stream of a message: its `switchyard.stream` metadata when that is a non-empty string, else its name. */
export function streamOf(message: AnyMessage): string {
  const stream = message.metadata[OUTBOX_STREAM];
  return typeof stream === 'string' && stream.length > 0 ? stream : message.name;
}

/** The envelope as stored: the codec's text, or base64 of its bytes (`encoding = 'base64'`). */
export function storeEnvelope(
  codec: MessageCodec,
  message: AnyMessage,
): { envelope: string; encoding: string | null } {
  const data = codec.encode(message);
  return typeof data === 'string'
    ? { envelope: data, encoding: null }
    : { envelope: Buffer.from(data).toString('base64'), encoding: 'base64' };
}

/** Decodes a stored envelope (throws the codec's `DecodeError` for a malformed one). */
export function loadEnvelope(codec: MessageCodec, envelope: string, encoding: string | null): AnyMessage {
  return codec.decode(encoding === 'base64' ? Buffer.from(envelope, 'base64') : envelope);
}
