/** Error codes of a request that never reached the consumer's handler, or whose connection dropped. */
const CONNECTION_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * True for a connection failure (refused, reset, connect timeout, socket closed before the
 * answer): the only failures the producer retries. A timeout waiting for the answer is not one:
 * the consumer may still be handling the message.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  // Happy-eyeballs connects (`localhost` → ::1 and 127.0.0.1) fail with an AggregateError.
  const errors = (error as { errors?: unknown }).errors;
  return Array.isArray(errors) && errors.length > 0 && errors.every(isConnectionFailure);
}
