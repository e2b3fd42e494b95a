import {
  BackpressureError,
  ConfigurationError,
  checkOption,
  DecodeError,
  errorMessage,
  type OutgoingMessage,
  type ProducerWire,
  TransportError,
  type WireCapabilities,
  type WireChannel,
  type WireData,
} from '@switchyard/core';
import { Dealer, Push } from 'zeromq';
import { type BatchEntry, isBatch, joinBatch, readBatch } from './batch-frames.ts';
import { ConnectedPeers } from './connected-peers.ts';
import { checkCurveClient } from './curve-options.ts';
import { ReceiveLoop } from './receive-loop.ts';
import { type Coalesce, SocketWriter } from './socket-writer.ts';
import { endpointList, type ZeroMQConnectedEndpoints } from './zeromq-endpoints.ts';
import type { ZeroMQProducerOptions } from './zeromq-producer.ts';
import { type SocketTuning, tuningOf } from './zeromq-socket-options.ts';

const COMPONENT = 'ZeroMQProducer';
/** Most queries in one batch message. */
const MAX_BATCH_COUNT = 256;

/** The zeromq.js options both sockets of a producer are created with. */
interface ProducerSocketOptions extends SocketTuning {
  readonly sendHighWaterMark: number;
  readonly curveServerKey?: string;
  readonly curvePublicKey?: string;
  readonly curveSecretKey?: string;
}

/** One connected socket of the wire and its writer. */
interface Outlet<S> {
  readonly socket: S;
  readonly writer: SocketWriter;
  /** Names the socket in errors, e.g. `ZeroMQ query socket (tcp://host:5556)`. */
  readonly label: string;
}

/**
 * The ZeroMQ wire under the {@link ZeroMQProducer}: commands and events go out on a Push socket,
 * queries on a Dealer as `[message id, envelope]`, and the replies that come back on the Dealer as
 * `[message id, reply]` are handed to core, which matches them. When a query's caller stops waiting,
 * `[message id, <empty frame>]` tells the consumer to fire its handler's signal.
 *
 * `immediate` (a send waits for a connected consumer): the Push socket uses ZMQ_IMMEDIATE; the
 * Dealer watches its handshakes instead ({@link ConnectedPeers}), because with ZMQ_IMMEDIATE libzmq
 * discards the replies still unread on a connection that closes — the last replies of every
 * consumer that shuts down gracefully.
 */
export class ZeroMQWire implements ProducerWire<ZeroMQConnectedEndpoints> {
  readonly capabilities: WireCapabilities;
  readonly #commandEndpoints: readonly string[];
  readonly #queryEndpoints: readonly string[];
  readonly #socketOptions: ProducerSocketOptions;
  readonly #immediate: boolean;
  readonly #sendTimeoutMs: number;
  readonly #maxQueuedSends: number;
  /** How queries queued behind the send in progress share one message (undefined: they do not). */
  readonly #coalesce: Coalesce | undefined;
  #channel: WireChannel | undefined;
  #commands: Outlet<Push> | undefined;
  #queries: Outlet<Dealer> | undefined;
  /** With `immediate`: whether the Dealer has a consumer to send to. */
  #queryPeers: ConnectedPeers | undefined;
  /** Reads replies from the first query on. */
  #replies: ReceiveLoop | undefined;

  /** Checks the options (`ConfigurationError` for misuse); creates nothing. */
  constructor(options: ZeroMQProducerOptions) {
    this.#commandEndpoints = endpointList(options.commandEndpoint, 'commandEndpoint', COMPONENT);
    this.#queryEndpoints = endpointList(options.queryEndpoint, 'queryEndpoint', COMPONENT);
    if (this.#commandEndpoints.length === 0 && this.#queryEndpoints.length === 0) {
      throw new ConfigurationError(`${COMPONENT} needs a commandEndpoint, a queryEndpoint or both`);
    }
    const curve = options.curve;
    checkCurveClient(COMPONENT, curve);
    this.#immediate = options.immediate ?? true;
    // -1 waits for ever, 0 rejects at once.
    this.#sendTimeoutMs =
      options.sendTimeoutMs === -1
        ? -1
        : checkOption(COMPONENT, 'sendTimeoutMs', options.sendTimeoutMs, 5_000, 'count');
    this.#maxQueuedSends = checkOption(COMPONENT, 'maxQueuedSends', options.maxQueuedSends, 10_000, 'count');
    this.#socketOptions = {
      ...tuningOf(options, COMPONENT),
      sendHighWaterMark: checkOption(
        COMPONENT,
        'sendHighWaterMark',
        options.sendHighWaterMark,
        1_000,
        'count',
      ),
      ...(curve === undefined
        ? {}
        : {
            curveServerKey: curve.serverPublicKey,
            curvePublicKey: curve.publicKey,
            curveSecretKey: curve.secretKey,
          }),
    };
    this.#coalesce =
      options.coalesceQueries === false
        ? undefined
        : {
            maxCount: MAX_BATCH_COUNT,
            // A batch is never bigger than the largest message this producer sends alone, so a
            // consumer whose maxMessageBytes admits those admits its batches.
            maxBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
            combine: (writes) => joinBatch(writes, false),
          };
    this.capabilities = {
      replies: this.#queryEndpoints.length > 0 ? 'channel' : false,
      confirmsHandling: false,
      durable: false,
    };
  }

  /** Sends waiting behind the one in progress (or for a consumer), both sockets together. */
  get queuedSends(): number {
    return (
      (this.#commands?.writer.queued ?? 0) +
      (this.#queries?.writer.queued ?? 0) +
      (this.#queryPeers?.waiting ?? 0)
    );
  }

  /** Creates the sockets and connects them (ZeroMQ connects in the background and reconnects by itself). */
  async open(channel: WireChannel): Promise<ZeroMQConnectedEndpoints> {
    this.#channel = channel;
    try {
      if (this.#commandEndpoints.length > 0) {
        const push = new Push({ ...this.#socketOptions, immediate: this.#immediate });
        this.#commands = this.#outlet(push, this.#commandEndpoints, 'command');
      }
      if (this.#queryEndpoints.length > 0) {
        const dealer = new Dealer({ ...this.#socketOptions });
        if (this.#immediate) this.#queryPeers = new ConnectedPeers(dealer);
        this.#queries = this.#outlet(dealer, this.#queryEndpoints, 'query');
      }
    } catch (cause) {
      this.#commands?.socket.close();
      this.#queries?.socket.close();
      throw new TransportError(`${COMPONENT} could not connect: ${errorMessage(cause)}`, { cause });
    }
    return { commands: this.#commandEndpoints, queries: this.#queryEndpoints };
  }

  send(outgoing: OutgoingMessage): Promise<WireData | undefined> {
    const message = outgoing.message;
    if (message.kind !== 'query') {
      const commands = this.#commands;
      if (commands === undefined) {
        return refuse(`${COMPONENT} has no commandEndpoint for the ${message.kind} "${message.name}"`);
      }
      return commands.writer.write(outgoing.data, outgoing.signal) as Promise<undefined>;
    }
    const queries = this.#queries;
    if (queries === undefined)
      return refuse(`${COMPONENT} has no queryEndpoint for the query "${message.name}"`);
    this.#replies ??= this.#readReplies(queries.socket);
    const frames: [string, WireData] = [message.id, outgoing.data];
    const peers = this.#queryPeers;
    if (peers === undefined || peers.any) {
      return queries.writer.write(frames, outgoing.signal, true, this.#batchKey) as Promise<undefined>;
    }
    return this.#writeOnceConnected(queries, peers, frames, outgoing.signal);
  }

  /**
   * The caller of a query stopped waiting: `[message id, <empty frame>]` behind it on the Dealer, so
   * the consumer fires its handler's signal. Best effort, and never waits for room: a cancel the
   * socket cannot take at once is dropped (the handler still stops at the query's deadline, if it has
   * one), so it never holds up the queries behind it.
   */
  cancel(outgoing: OutgoingMessage): void {
    this.#queries?.writer.write([outgoing.message.id, ''], undefined, false).catch(ignore);
  }

  /**
   * Closes the sockets. Writes still queued get up to `lingerMs` to reach the socket (cancels for the
   * queries the producer gave up on, which never wait for room); a send stuck waiting for room is
   * cut off at once, and so is everything behind it, with `ProducerClosedError`. Each socket then
   * lingers at most `lingerMs`.
   */
  async close(): Promise<void> {
    const linger = this.#socketOptions.linger;
    await Promise.all([this.#commands?.writer.close(linger), this.#queries?.writer.close(linger)]);
    this.#queryPeers?.close();
    this.#commands?.socket.close();
    this.#queries?.socket.close();
    await this.#replies?.done;
  }

  /** Every query may share a batch (when coalescing is on). */
  get #batchKey(): string | undefined {
    return this.#coalesce === undefined ? undefined : 'query';
  }

  #outlet<S extends Push | Dealer>(socket: S, endpoints: readonly string[], kind: string): Outlet<S> {
    for (const endpoint of endpoints) socket.connect(endpoint);
    const label = `ZeroMQ ${kind} socket (${endpoints.join(', ')})`;
    const writer = new SocketWriter(socket, {
      maxQueued: this.#maxQueuedSends,
      sendTimeoutMs: this.#sendTimeoutMs,
      label,
      ...(kind === 'query' && this.#coalesce !== undefined ? { coalesce: this.#coalesce } : {}),
    });
    return { socket, writer, label };
  }

  /**
   * A query with no consumer connected: waits up to `sendTimeoutMs` for one (as ZMQ_IMMEDIATE would),
   * then rejects with `SWITCHYARD_TRANSPORT_ERROR`. At most `maxQueuedSends` wait.
   */
  #writeOnceConnected(
    queries: Outlet<Dealer>,
    peers: ConnectedPeers,
    frames: [string, WireData],
    signal: AbortSignal | undefined,
  ): Promise<undefined> {
    if (peers.waiting >= this.#maxQueuedSends) {
      return Promise.reject(
        new BackpressureError(
          `${queries.label}: ${this.#maxQueuedSends} sends already wait for a consumer (maxQueuedSends)`,
        ),
      );
    }
    return peers.whenAny(this.#sendTimeoutMs, signal).then((outcome) => {
      if (outcome === 'aborted') return undefined; // nobody waits for it any more: not sent
      if (outcome === 'timeout') {
        throw new TransportError(
          `${queries.label}: no consumer connected within ${this.#sendTimeoutMs} ms (immediate)`,
        );
      }
      // Connected — or closed, and then the closed writer rejects with ProducerClosedError.
      return queries.writer.write(frames, signal, true, this.#batchKey) as Promise<undefined>;
    });
  }

  /**
   * Hands every `[message id, reply]` to core. A malformed reply is reported; a failed receive is
   * reported, rejects the queries waiting (their replies may be what was lost) and the loop reads
   * on — it never dies silently, so later queries are still answered.
   */
  #readReplies(dealer: Dealer): ReceiveLoop {
    const channel = this.#channel!;
    return new ReceiveLoop(dealer, {
      onMessage(frames) {
        let batch: BatchEntry[] | undefined;
        try {
          batch = isBatch(frames, 0) ? readBatch(frames[0]!) : undefined;
        } catch (error) {
          channel.report(error, 'reply');
          return undefined;
        }
        if (batch === undefined && frames.length !== 2) {
          channel.report(
            new DecodeError(
              `Expected a correlation frame and a reply on the query socket, got ${frames.length} frame(s)`,
            ),
            'reply',
          );
          return undefined;
        }
        // A single reply is [id, reply]; a batch one frame of entries (see batch-frames.ts).
        for (const { id, data } of batch ?? [{ id: frames[0]!, data: frames[1]! }]) {
          try {
            channel.reply(data, id.toString('utf8'));
          } catch (error) {
            // One reply that could not be settled; the others can still be.
            channel.report(error, 'reply');
          }
        }
        return undefined;
      },
      onFailure(cause) {
        const error = new TransportError(`${COMPONENT}: receiving replies failed: ${errorMessage(cause)}`, {
          cause,
        });
        channel.report(error, 'reply');
        channel.rejectPending(error);
      },
    });
  }
}

function refuse(reason: string): Promise<undefined> {
  return Promise.reject(new ConfigurationError(reason));
}

function ignore(): void {}
