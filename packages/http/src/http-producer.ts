import { TransportProducer, type TransportProducerOptions } from '@switchyard/core';
import { HttpWire, type HttpWireOptions } from './http-wire.ts';

export type { RetryOptions } from './http-wire.ts';

/** Options of the {@link HttpProducer}. */
export interface HttpProducerOptions extends TransportProducerOptions, HttpWireOptions {
  /** The consumer endpoint, e.g. `http://orders.internal:8080/` or an `https://` URL. */
  readonly url: string | URL;
  /** Most connections open to the consumer at once; more requests wait in undici's queue. @default 16 */
  readonly connections?: number | undefined;
  /**
   * How long an idle keep-alive connection is kept. Keep it below the consumer's keep-alive
   * timeout so the client, not the server, closes idle sockets.
   * @default 4_000
   */
  readonly keepAliveTimeoutMs?: number | undefined;
  /** Time allowed to open a connection (TCP + TLS). @default 5_000 */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Time allowed for the answer to a command or event once its request is sent. The consumer
   * answers after the handler finished, so this bounds a command's handling time as seen by the
   * producer (a dispatch's own deadline, when shorter, wins). Past it: `SWITCHYARD_TIMEOUT`.
   * Queries use `replyTimeoutMs`.
   * @default 30_000
   */
  readonly headersTimeoutMs?: number | undefined;
  /** Longest pause while the answer's body streams in. @default 30_000 */
  readonly bodyTimeoutMs?: number | undefined;
  /**
   * Extra request headers: a fixed object (e.g. `bearerHeaders(token)`) or a function called per
   * request and per retry (e.g. `hmacHeaders(secret)`).
   * @default undefined
   */
  readonly headers?: HttpWireOptions['headers'];
  /**
   * Retries of requests that never reached a handler: connection failures (refused, reset, connect
   * timeout, socket closed) and `503` answers (the consumer is shutting down; `Retry-After` is
   * honoured up to `maxDelayMs`). Safe because the consumer de-duplicates by message id. A timeout
   * or any other status is never retried. `false` turns retries off.
   * @default { retries: 2, delayMs: 100, maxDelayMs: 2_000 }
   */
  readonly retry?: HttpWireOptions['retry'];
  /** TLS options for an `https://` URL (CA, client certificate, servername, …). @default undefined */
  readonly tls?: HttpWireOptions['tls'];
}

/**
 * Sends messages to an {@link HttpConsumer} with undici (`Pool` + `request`, keep-alive). Commands
 * and events resolve when the consumer answered 202, after the remote handler ran; a remote failure
 * rejects with `SWITCHYARD_REMOTE_ERROR` (`remoteCode`, `remoteName`, `issues`) exactly as a query's
 * does. A timed-out or aborted dispatch cancels its request (also one still queued for a connection),
 * and the remote handler's `signal` fires.
 *
 * @example
 * const producer = new HttpProducer({ url: 'http://127.0.0.1:8080/', headers: bearerHeaders(token) });
 * router.route(RegisterUser).to(producer);
 * queryRouter.route(GetUser).to(producer);
 * // … at shutdown
 * await producer.close();
 */
export class HttpProducer extends TransportProducer<string> {
  constructor(options: HttpProducerOptions) {
    super('HttpProducer', 'http', new HttpWire(options), options);
  }
}
