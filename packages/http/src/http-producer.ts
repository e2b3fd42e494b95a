import { TransportProducer, type TransportProducerOptions } from '@switchyard/core';
import { HttpWire, type HttpWireOptions } from './http-wire.ts';

export type { HttpProducerAsyncOptions, RetryOptions } from './http-wire.ts';

/** Options of the {@link HttpProducer}: the HTTP ones, plus core's producer options (`replyTimeoutMs`, `maxMessageBytes`, `closeTimeoutMs`, `codec`, `onError`, `logger`). */
export interface HttpProducerOptions extends TransportProducerOptions, HttpWireOptions {
  /**
   * Largest encoded message sent; a larger one rejects at the sender with
   * `SWITCHYARD_PAYLOAD_TOO_LARGE` instead of a 413 from the consumer. Keep it equal to the
   * consumer's `maxMessageBytes`.
   * @default 1_048_576 (1 MiB, the consumer's default)
   */
  readonly maxMessageBytes?: number | undefined;
}

/** The consumer's default body limit, so the producer refuses at the sender what it would refuse. */
const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

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
    super('HttpProducer', 'http', new HttpWire(options), {
      ...options,
      maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    });
  }
}
