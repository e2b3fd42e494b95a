import type { AnyMessage, WireData } from '@switchyard/core';

/** What a {@link HeadersFactory} is called with: the message and its encoded body, per attempt. */
export interface OutgoingRequest {
  /** The message being sent. */
  readonly message: AnyMessage;
  /**
   * The encoded body, exactly as it goes on the wire (sign this for HMAC). For a poll or cancel of a
   * status resource (`async`): `"<METHOD> <message id>"`, what the consumer's auth hook sees.
   */
  readonly body: WireData;
}

/**
 * Computes extra request headers per request (and per retry), e.g. a fresh HMAC signature.
 *
 * @example
 * const headers: HeadersFactory = () => ({ authorization: `Bearer ${currentToken()}` });
 */
export type HeadersFactory = (request: OutgoingRequest) => Readonly<Record<string, string>>;
