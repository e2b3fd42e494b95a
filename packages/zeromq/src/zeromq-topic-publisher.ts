import { TransportError, TransportProducer, type TransportProducerOptions } from '@switchyard/core';
import type { ZapDecision } from './zap-handler.ts';
import type { ZeroMQCurveServerOptions } from './zeromq-consumer.ts';
import type { Endpoints } from './zeromq-endpoints.ts';
import type { ZeroMQSocketOptions } from './zeromq-socket-options.ts';
import { ZeroMQTopicPublisherWire } from './zeromq-topic-publisher-wire.ts';

/**
 * Options of the {@link ZeroMQTopicPublisher}. Besides its own, it takes those of every producer
 * (`TransportProducerOptions`): `maxMessageBytes` (16 MiB), `closeTimeoutMs` (10_000), `onError`
 * (with `context.stage`: `connection`, `auth` for a refused CURVE subscriber, `close`), `logger`,
 * `codec` (`JsonCodec`). `replyTimeoutMs` does not apply: a topic carries no queries.
 */
export interface ZeroMQTopicPublisherOptions
  extends Omit<TransportProducerOptions, 'replyTimeoutMs'>,
    ZeroMQSocketOptions {
  /**
   * Where the Publisher socket binds (one endpoint or several), e.g. `tcp://0.0.0.0:5560`,
   * `tcp://127.0.0.1:0` for a port chosen by the system, or `ipc:///run/orders-events.sock`.
   * Subscribers connect here; the publisher never learns who they are.
   */
  readonly endpoint: Endpoints;
  /**
   * Events ZeroMQ queues per connected subscriber that has not taken them yet (ZMQ_SNDHWM). Past it,
   * new events for that subscriber are **dropped** (ZeroMQ PUB/SUB drops by design; the other
   * subscribers still get them), and publishing never waits.
   * @default 1_000
   */
  readonly sendHighWaterMark?: number | undefined;
  /**
   * Encrypt and authenticate with CURVE: the publisher is the CURVE server, subscribers give its
   * public key. `allowedClientKeys` lists the subscribers' public keys (`'any'`: every client that
   * knows the publisher's public key).
   * @default undefined — plain TCP: unencrypted, anyone who reaches the endpoint may subscribe
   */
  readonly curve?: ZeroMQCurveServerOptions | undefined;
  /**
   * Protected mode: a `tcp://` endpoint other hosts can reach (`tcp://0.0.0.0:…`, `tcp://*:…`, a LAN
   * address) needs `curve`, or `auth: 'none'` to let anyone who reaches it subscribe, on purpose —
   * else the constructor throws `ConfigurationError`. Loopback and `ipc://` endpoints need neither.
   * @default undefined — CURVE required off loopback
   */
  readonly auth?: 'none' | undefined;
}

/**
 * Publishes events over a ZeroMQ Publisher socket that binds `endpoint`: **at most once**, to the
 * subscribers connected at that moment ({@link ZeroMQTopicSubscriber}). Subscribers connect and leave
 * without the publisher knowing or changing. Each event goes out as two frames, `[event name,
 * envelope]`, so ZeroMQ filters by name prefix at the publisher.
 *
 * `produce` resolves once the event is handed to the socket — never waits, whether there are no
 * subscribers (the event is gone) or a subscriber is `sendHighWaterMark` events behind (dropped for
 * it). Commands and queries are refused with `SWITCHYARD_INVALID_MESSAGE`. Capabilities:
 * `{ replies: false, confirmsHandling: false, durable: false, fanOut: true }`, so the publisher's
 * own local listeners of an event still run when it publishes.
 *
 * @example
 * const publisher = new ZeroMQTopicPublisher({ endpoint: 'tcp://127.0.0.1:5560' });
 * const events = new EventRouter();
 * events.route(UserRegistered).to(publisher);
 * await publisher.start(); // binds
 * // …
 * await publisher.close();
 */
export class ZeroMQTopicPublisher extends TransportProducer<readonly string[]> {
  /** Checks the options (`ConfigurationError` for misuse); binds nothing — `start()` or the first `produce` does. */
  constructor(options: ZeroMQTopicPublisherOptions) {
    const wire = new ZeroMQTopicPublisherWire(options);
    super('ZeroMQTopicPublisher', 'zeromq', wire, options);
    wire.onRefused = (decision: ZapDecision) =>
      this.errors.report(
        new TransportError(
          `Refused a ${decision.mechanism} subscriber from ${decision.address}: its key is not on the allow-list`,
        ),
        'auth',
        { address: decision.address, clientKey: decision.clientKey },
      );
  }
}
