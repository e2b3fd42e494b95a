import type { Metadata } from '../json.ts';

/** Metadata key of the W3C `traceparent` the sender's instrumentation injected (travels in the envelope). */
export const TRACEPARENT = 'traceparent';
/** Metadata key of the W3C `tracestate` that goes with {@link TRACEPARENT}. */
export const TRACESTATE = 'tracestate';

/**
 * `headers` plus the message's W3C trace context (`traceparent`, `tracestate`) as headers, for
 * transports with headers of their own (HTTP) so proxies and other services see them. The same
 * object when the message carries none.
 */
export function withTraceHeaders(
  metadata: Metadata,
  headers: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  const traceparent = metadata[TRACEPARENT];
  if (typeof traceparent !== 'string') return headers;
  const tracestate = metadata[TRACESTATE];
  return typeof tracestate === 'string'
    ? { ...headers, traceparent, tracestate }
    : { ...headers, traceparent };
}
