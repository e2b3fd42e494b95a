import {
  type AnyMessage,
  ConfigurationError,
  type Deferred,
  JsonCodec,
  type MessageCodec,
  type MessageProducer,
  PendingReplies,
  type ProducerCapabilities,
  ProducerClosedError,
} from '@switchyard/core';
import { Dealer, Push } from 'zeromq';
import { SocketWriter } from './socket-writer.ts';
import { isCurveKey } from './z85.ts';
import { type Endpoints, endpointList, tuningOf, type ZeroMQSocketOptions } from './zeromq-socket-options.ts';

/** CURVE keys of a producer (the client side). All three are 40-character Z85 keys. */
export interface ZeroMQCurveClientOptions {
  /** The consumer's public key: the producer only talks to the server that holds its secret key. */
  readonly serverPublicKey: string;
  /** This producer's public key; the consumer's allow-list must contain it. */
  readonly publicKey: string;
  /** This producer's secret key. */
  readonly secretKey: string;
}

/** Options of the {@link ZeroMQProducer}. */
export interface ZeroMQProducerOptions extends ZeroMQSocketOptions {
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
  /** Wire format. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
  /**
   * Reject a query with `SWITCHYARD_TIMEOUT` if no reply came in this time, whatever timeout the
   * caller gave (a shorter caller timeout wins).
   * @default 30_000
   */
  readonly replyTimeoutMs?: number | undefined;
  /**
   * Messages ZeroMQ queues per socket for a peer that is slow or not connected yet (ZMQ_SNDHWM).
   * Past it a send waits up to `sendTimeoutMs`, then rejects.
   * @default 1_000
   */
  readonly sendHighWaterMark?: number | undefined;
  /**
   * How long a send may wait for room below the high-water mark (or, with `immediate`, for a
   * connected consumer) before it rejects with `SWITCHYARD_TRANSPORT_ERROR`. `0` rejects at once,
   * `-1` waits for ever. Sends that find room never wait, whatever this is.
   * @default 5_000
   */
  readonly sendTimeoutMs?: number | undefined;
  /**
   * Sends that may wait behind the one in progress, per socket; one more rejects at once with
   * `SWITCHYARD_BACKPRESSURE` (memory stays bounded whatever the callers do).
   * @default 10_000
   */
  readonly maxQueuedSends?: number | undefined;
  /**
   * Queue messages only on connections that completed their handshake (ZMQ_IMMEDIATE). Off: messages
   * for a consumer that is not up yet wait in the socket (up to the high-water mark) and go out when it
   * connects. On: a send with no consumer connected waits `sendTimeoutMs`, then rejects.
   * @default false
   */
  readonly immediate?: boolean | undefined;
  /** Encrypt and authenticate with CURVE. @default undefined — plain TCP: unencrypted and unauthenticated */
  readonly curve?: ZeroMQCurveClientOptions | undefined;
}

/**
 * Sends commands and events over a ZeroMQ Push socket (fire-and-forget: `produce` resolves once the
 * message is queued on the socket) and queries over a Dealer socket, one correlation frame (the
 * message id) before the envelope, so any number of queries are in flight at once; replies come back
 * on the same Dealer and settle their query by id. Connects lazily in the background and reconnects
 * by itself when the consumer restarts.
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
export class ZeroMQProducer implements MessageProducer {
  readonly capabilities: ProducerCapabilities;
  readonly #codec: MessageCodec;
  readonly #pending: PendingReplies;
  readonly #lingerMs: number;
  readonly #push: Push | undefined;
  readonly #dealer: Dealer | undefined;
  readonly #commands: SocketWriter | undefined;
  readonly #queries: SocketWriter | undefined;
  #reading: Promise<void> | undefined;
  #closed = false;

  constructor(options: ZeroMQProducerOptions) {
    const commandEndpoints = endpointList(options.commandEndpoint);
    const queryEndpoints = endpointList(options.queryEndpoint);
    if (commandEndpoints.length === 0 && queryEndpoints.length === 0) {
      throw new ConfigurationError('ZeroMQProducer needs a commandEndpoint, a queryEndpoint or both');
    }
    const curve = options.curve;
    if (
      curve !== undefined &&
      !(isCurveKey(curve.serverPublicKey) && isCurveKey(curve.publicKey) && isCurveKey(curve.secretKey))
    ) {
      throw new ConfigurationError('curve keys must be 40-character Z85 strings (see generateCurveKeyPair)');
    }
    this.#codec = options.codec ?? new JsonCodec();
    this.#pending = new PendingReplies({ timeoutMs: options.replyTimeoutMs ?? 30_000 });
    const tuning = tuningOf(options);
    this.#lingerMs = tuning.linger;
    const sendTimeoutMs = options.sendTimeoutMs ?? 5_000;
    const socketOptions = {
      ...tuning,
      sendHighWaterMark: options.sendHighWaterMark ?? 1_000,
      immediate: options.immediate ?? false,
      ...(curve === undefined
        ? {}
        : {
            curveServerKey: curve.serverPublicKey,
            curvePublicKey: curve.publicKey,
            curveSecretKey: curve.secretKey,
          }),
    };
    const maxQueued = options.maxQueuedSends ?? 10_000;
    if (commandEndpoints.length > 0) {
      const push = new Push({ ...socketOptions });
      for (const endpoint of commandEndpoints) push.connect(endpoint);
      this.#push = push;
      this.#commands = new SocketWriter(push, {
        maxQueued,
        sendTimeoutMs,
        label: `ZeroMQ command socket (${commandEndpoints.join(', ')})`,
      });
    }
    if (queryEndpoints.length > 0) {
      const dealer = new Dealer({ ...socketOptions });
      for (const endpoint of queryEndpoints) dealer.connect(endpoint);
      this.#dealer = dealer;
      this.#queries = new SocketWriter(dealer, {
        maxQueued,
        sendTimeoutMs,
        label: `ZeroMQ query socket (${queryEndpoints.join(', ')})`,
      });
    }
    this.capabilities = { replies: this.#dealer !== undefined, confirmsHandling: false, durable: false };
  }

  /** Queries waiting for their reply. */
  get pendingReplies(): number {
    return this.#pending.size;
  }

  /** Sends waiting behind the one in progress, both sockets together. */
  get queuedSends(): number {
    return (this.#commands?.queued ?? 0) + (this.#queries?.queued ?? 0);
  }

  produce(message: AnyMessage, deferred?: Deferred<unknown>): Promise<void> {
    if (this.#closed) return Promise.reject(new ProducerClosedError());
    try {
      if (message.kind === 'query') return this.#produceQuery(message, deferred);
      const writer = this.#commands;
      if (writer === undefined) {
        throw new ConfigurationError(
          `ZeroMQProducer has no commandEndpoint for the ${message.kind} "${message.name}"`,
        );
      }
      return writer.write(this.#codec.encode(message));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Refuses new messages, gives queued sends up to `lingerMs` to reach the sockets, rejects queries
   * still waiting with `SWITCHYARD_PRODUCER_CLOSED`, and closes the sockets (each lingering at most
   * `lingerMs`). Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all([this.#commands?.close(this.#lingerMs), this.#queries?.close(this.#lingerMs)]);
    this.#pending.rejectAll(new ProducerClosedError('The producer closed before the reply arrived'));
    this.#push?.close();
    this.#dealer?.close();
    await this.#reading;
  }

  #produceQuery(message: AnyMessage, deferred: Deferred<unknown> | undefined): Promise<void> {
    const writer = this.#queries;
    if (writer === undefined) {
      throw new ConfigurationError(`ZeroMQProducer has no queryEndpoint for the query "${message.name}"`);
    }
    if (deferred?.settled === true) return Promise.resolve();
    const body = this.#codec.encode(message);
    if (deferred === undefined) return writer.write([message.id, body]);
    if (!this.#pending.add(message.id, message.name, deferred)) return Promise.resolve();
    this.#reading ??= this.#readReplies(this.#dealer!);
    // A failed write rejects the deferred too, which takes the query out of the pending replies.
    return writer.write([message.id, body], deferred);
  }

  async #readReplies(dealer: Dealer): Promise<void> {
    try {
      for await (const frames of dealer) this.#onReply(frames);
    } catch {
      // The socket closed while waiting for a reply; close() settled what was pending.
    }
  }

  /** Frames: correlation id, reply. Anything else, or a reply nobody waits for, is dropped. */
  #onReply(frames: Buffer[]): void {
    if (frames.length !== 2) return;
    const id = frames[0]!.toString('utf8');
    if (!this.#pending.has(id)) return; // late (timed out, aborted) or from an earlier connection
    let reply: ReturnType<MessageCodec['decodeReply']>;
    try {
      reply = this.#codec.decodeReply(frames[1]!);
    } catch (error) {
      // The correlation frame says whose reply this is: tell that caller now instead of at the timeout.
      this.#pending.reject(id, error);
      return;
    }
    if (reply.inReplyTo !== id) return; // a reply must name the query its frame names
    this.#pending.settle(reply);
  }
}
