import { TransportProducer, type TransportProducerOptions } from '@switchyard/core';
import type { Endpoints, ZeroMQConnectedEndpoints } from './zeromq-endpoints.ts';
import type { ZeroMQSocketOptions } from './zeromq-socket-options.ts';
import { ZeroMQWire } from './zeromq-wire.ts';

/** CURVE keys of a producer (the client side). All three are 40-character Z85 keys. */
export interface ZeroMQCurveClientOptions {
  /** The consumer's public key: the producer only talks to the server that holds its secret key. */
  readonly serverPublicKey: string;
  /** This producer's public key; the consumer's allow-list must contain it. */
  readonly publicKey: string;
  /** This producer's secret key. */
  readonly secretKey: string;
}

/**
 * Options of the {@link ZeroMQProducer}. Besides its own, it takes those of every producer
 * (`TransportProducerOptions`): `replyTimeoutMs` (30_000), `maxMessageBytes` (16 MiB),
 * `closeTimeoutMs` (10_000), `onError`, `logger`, `codec` (`JsonCodec`).
 */
export interface ZeroMQProducerOptions extends TransportProducerOptions, ZeroMQSocketOptions {
  /**
   * Where commands and events go: the consumer's Pull endpoint(s), e.g. `tcp://orders-worker:5555`.
   * With several, ZeroMQ hands each message to the next connected consumer in turn.
   * @default undefined — producing a command or event rejects with `SWITCHYARD_INVALID_CONFIGURATION`
   */
  readonly commandEndpoint?: Endpoints | undefined;
  /**
   * Where queries go: the consumer's Router endpoint(s), e.g. `tcp://orders-worker:5556`.
   * @default undefined — the producer cannot carry queries (`capabilities.replies` is false)
   */
  readonly queryEndpoint?: Endpoints | undefined;
  /**
   * How long a send may wait for room: for a connected consumer (see `immediate`) or below the
   * high-water mark. Past it the send rejects with `SWITCHYARD_TRANSPORT_ERROR`, and so do the sends
   * queued behind it. `0` rejects at once, `-1` waits for ever. Sends that find room never wait.
   * @default 5_000
   */
  readonly sendTimeoutMs?: number | undefined;
  /**
   * Messages ZeroMQ queues per socket for a consumer that is slow (or, with `immediate: false`, not
   * connected yet) (ZMQ_SNDHWM). Past it a send waits up to `sendTimeoutMs`, then rejects.
   * @default 1_000
   */
  readonly sendHighWaterMark?: number | undefined;
  /**
   * Sends that may wait behind the one in progress, per socket; one more rejects at once with
   * `SWITCHYARD_BACKPRESSURE` (memory stays bounded whatever the callers do).
   * @default 10_000
   */
  readonly maxQueuedSends?: number | undefined;
  /**
   * Queue messages only on connections that completed their handshake (ZMQ_IMMEDIATE). On: with no
   * consumer connected a send waits `sendTimeoutMs`, then rejects with `SWITCHYARD_TRANSPORT_ERROR`
   * — a dispatch never resolves for a consumer that is not there. Off: messages for a consumer that
   * is not up yet wait in the socket (up to `sendHighWaterMark`) and go out when it connects; the
   * dispatch resolves at once, and the messages are lost if no consumer ever comes.
   * @default true
   */
  readonly immediate?: boolean | undefined;
  /** Encrypt and authenticate with CURVE. @default undefined — plain TCP: unencrypted and unauthenticated */
  readonly curve?: ZeroMQCurveClientOptions | undefined;
  /**
   * Queries written in the same tick (or while a send is in progress) go out together as one
   * ZeroMQ message — a batch: one versioned frame of `[id, envelope]` entries, at most 256 queries
   * and `maxMessageBytes` — and the consumer answers a batch's queries in batches too: fewer sends
   * and receives per query under load, nothing added when queries come one at a time. Consumers
   * before this version cannot read batches: upgrade the consumers first, or set `false` until then.
   * @default true
   */
  readonly coalesceQueries?: boolean | undefined;
}

/**
 * Sends commands and events over a ZeroMQ Push socket (`produce` resolves once the message is queued
 * on a connection to a consumer) and queries over a Dealer socket, one correlation frame (the message
 * id) before the envelope, so any number of queries are in flight at once; replies come back on the
 * same Dealer and settle their query by id. `start()` (or the first `produce`) connects; ZeroMQ
 * connects in the background and reconnects by itself when the consumer restarts.
 *
 * Core's `TransportProducer` does the rest: encoding, deadlines, reply matching and timeouts,
 * `inFlight`, `close()` once and bounded by `closeTimeoutMs`.
 *
 * @example
 * const producer = new ZeroMQProducer({
 *   commandEndpoint: 'tcp://127.0.0.1:5555',
 *   queryEndpoint: 'tcp://127.0.0.1:5556',
 * });
 * commandRouter.route(RegisterUser).to(producer);
 * queryRouter.route(GetUser).to(producer);
 * // …
 * await producer.close();
 */
export class ZeroMQProducer extends TransportProducer<ZeroMQConnectedEndpoints> {
  readonly #wire: ZeroMQWire;

  constructor(options: ZeroMQProducerOptions) {
    const wire = new ZeroMQWire(options);
    super('ZeroMQProducer', 'zeromq', wire, options);
    this.#wire = wire;
  }

  /** Sends waiting behind the one in progress, both sockets together. */
  get queuedSends(): number {
    return this.#wire.queuedSends;
  }
}
