import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  type AnyMessage,
  ConfigurationError,
  checkOption,
  DecodeError,
  errorMessage,
  ProducerClosedError,
  type ReceiveResult,
  type Reply,
  requireAuthOffLoopback,
  TransportConsumer,
  type TransportConsumerOptions,
  TransportError,
} from '@switchyard/core';
import { Context, Pull, Router } from 'zeromq';
import { type BatchEntry, isBatch, joinBatch, readBatch } from './batch-frames.ts';
import { checkCurveServer, curveServerSocketOptions } from './curve-options.ts';
import { ReceiveLoop, type ReceivingSocket } from './receive-loop.ts';
import { SocketWriter } from './socket-writer.ts';
import { type ZapDecision, ZapHandler } from './zap-handler.ts';
import { type Endpoints, endpointList, type ZeroMQBoundEndpoints } from './zeromq-endpoints.ts';
import { type SocketTuning, tuningOf, type ZeroMQSocketOptions } from './zeromq-socket-options.ts';

/** CURVE keys of a consumer (the server side). */
export interface ZeroMQCurveServerOptions {
  /** The consumer's secret key (Z85, 40 characters); producers are given its public key. */
  readonly secretKey: string;
  /**
   * Public keys (Z85) of the producers that may connect; every other client is refused during the
   * handshake. `'any'` admits every client that knows the server's public key: traffic is still
   * encrypted, but clients are not authenticated.
   */
  readonly allowedClientKeys: readonly string[] | 'any';
}

/**
 * Options of the {@link ZeroMQConsumer}. Besides its own, it takes those of every consumer
 * (`TransportConsumerOptions`): the buses, `definitions`, `codec`, `exposeErrorStack`, `onError`
 * (with `context.stage`: `receive`, `reply`, `connection`, `auth` for a refused CURVE client,
 * `close`) and `logger`.
 */
export interface ZeroMQConsumerOptions extends TransportConsumerOptions, ZeroMQSocketOptions {
  /**
   * Where to receive commands and events (a Pull socket binds here), e.g. `tcp://0.0.0.0:5555`,
   * `tcp://127.0.0.1:0` for a port chosen by the system, or `ipc:///run/orders.sock`.
   * @default undefined — no command socket (one of the two endpoints is required)
   */
  readonly commandEndpoint?: Endpoints | undefined;
  /**
   * Where to receive queries (a Router socket binds here); replies go back on the same connection.
   * @default undefined — no query socket (one of the two endpoints is required)
   */
  readonly queryEndpoint?: Endpoints | undefined;
  /**
   * Messages handled at the same time, both sockets together. At the limit the consumer stops
   * reading, so ZeroMQ's high-water marks push back on the producers.
   * @default 1_000
   */
  readonly concurrency?: number | undefined;
  /**
   * `close()`: how long the consumer may take to read what producers already handed it and to let
   * the handlers finish (and their replies go out). Past it, queries still running are answered with
   * `SWITCHYARD_PRODUCER_CLOSED` (their handlers' signals fire), messages still unread are refused
   * and reported, and the sockets close.
   * @default 10_000
   */
  readonly closeTimeoutMs?: number | undefined;
  /**
   * Largest message (all frames together) accepted from a producer, in bytes (ZMQ_MAXMSGSIZE). A peer
   * that sends a bigger one is disconnected before it is buffered whole. `-1` means no limit; keep it
   * at or above the producers' `maxMessageBytes`.
   * @default 16_842_752 (16 MiB + 64 KiB for frames and envelope)
   */
  readonly maxMessageBytes?: number | undefined;
  /** Messages ZeroMQ buffers per producer before it stops reading from it (ZMQ_RCVHWM). @default 1_000 */
  readonly receiveHighWaterMark?: number | undefined;
  /** Replies ZeroMQ queues per producer; past it a reply is dropped and the query times out (ZMQ_SNDHWM). @default 1_000 */
  readonly sendHighWaterMark?: number | undefined;
  /** Encrypt and authenticate with CURVE. @default undefined — plain TCP: unencrypted and unauthenticated */
  readonly curve?: ZeroMQCurveServerOptions | undefined;
  /**
   * Protected mode: a `tcp://` endpoint other hosts can reach (`tcp://0.0.0.0:…`, `tcp://*:…`, a
   * LAN address) needs `curve`, or `auth: 'none'` to accept plain, unauthenticated TCP from anyone
   * who can reach it, on purpose — else the constructor throws `ConfigurationError`. Loopback and
   * `ipc://` endpoints need neither.
   * @default undefined — CURVE required off loopback
   */
  readonly auth?: 'none' | undefined;
}

const COMPONENT = 'ZeroMQConsumer';

/** The hosts of the `tcp://` endpoints (ipc and inproc stay on this host). */
function tcpHosts(endpoints: readonly string[]): string[] {
  return endpoints
    .filter((endpoint) => endpoint.startsWith('tcp://'))
    .map((endpoint) => endpoint.slice('tcp://'.length).replace(/:[^:\]]*$/, ''));
}
const MAX_CORRELATION_BYTES = 256;
/** Most replies in one batch message. */
const MAX_REPLY_BATCH_COUNT = 256;
/** Most bytes in one batch of replies (a bigger reply goes alone). */
const MAX_REPLY_BATCH_BYTES = 1024 * 1024;
/**
 * A batch of queries is handled in slices of this many, with a turn of the event loop between them:
 * the replies of a slice go out while the next one is handled, so the producer's process already
 * reads them (and sends its next queries) instead of waiting for the whole batch. Without slices the
 * two processes took turns; 64 queries in flight over loopback measured ~1.2× the throughput with
 * slices of 16 (32: as 16; 8: no gain; 4: slower).
 */
const QUERY_SLICE = 16;
const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 64 * 1024;
/** Closing: the command socket counts as read empty once it gave nothing for this long. */
const QUIET_MS = 100;
/** Closing, after the unbind: time for the last messages already in the socket to be read. */
const SETTLE_MS = 10;
/** Closing with handlers still running: most unread messages refused one by one. */
const MAX_REFUSED = 100_000;

/** A bound socket, the endpoints it is bound to, and the loop that reads it. */
interface Inlet<S extends ReceivingSocket> {
  readonly socket: S;
  readonly endpoints: readonly string[];
  readonly loop: ReceiveLoop;
}

/** A query being handled: where its reply goes, and what a cancel from its caller aborts. */
interface RunningQuery {
  readonly identity: Buffer;
  readonly correlation: Buffer;
  readonly controller: AbortController;
  /** Set when the query came in a batch: its reply may join a batch to the same connection. */
  readonly batchKey: string | undefined;
}

/**
 * Receives commands and events on a Pull socket and queries on a Router socket, runs them through
 * core's receive pipeline (decode → validate → mark as arrived → refuse expired → dispatch) and
 * answers each query on the connection it came from, with the correlation frame it came with.
 * `[correlation id, <empty frame>]` from a producer means its caller stopped waiting: that query's
 * handler signal fires. Malformed input is reported to `onError` and dropped (a query still gets an
 * error reply) — never a crash, never a stop.
 *
 * Nothing is bound before `start()`. `close()` reads on until the command socket is quiet, then
 * unbinds it, so every command a producer already handed over is handled; queries arriving
 * meanwhile are answered with `SWITCHYARD_PRODUCER_CLOSED`. Default `concurrency`: 1_000.
 *
 * @example
 * const consumer = new ZeroMQConsumer({
 *   commandEndpoint: 'tcp://0.0.0.0:5555',
 *   queryEndpoint: 'tcp://0.0.0.0:5556',
 *   auth: 'none', // other hosts may connect without CURVE, on purpose (or give `curve`)
 *   commandBus, eventBus, queryBus,
 *   onError: (error, context) => console.error(`zeromq consumer (${context.stage}):`, error),
 * });
 * const bound = await consumer.start(); // { commands: ['tcp://0.0.0.0:5555'], queries: [...] }
 * // … on shutdown:
 * await consumer.close();
 */
export class ZeroMQConsumer extends TransportConsumer<ZeroMQBoundEndpoints> {
  readonly #commandEndpoints: readonly string[];
  readonly #queryEndpoints: readonly string[];
  readonly #tuning: SocketTuning;
  readonly #receiveHighWaterMark: number;
  readonly #sendHighWaterMark: number;
  readonly #maxMessageBytes: number;
  readonly #curve: ZeroMQCurveServerOptions | undefined;
  #zap: ZapHandler | undefined;
  #commands: Inlet<Pull> | undefined;
  #queries: Inlet<Router> | undefined;
  #replies: SocketWriter | undefined;
  /**
   * The batch of queries being handled (the read loop takes one message at a time), or a settled
   * one: closing waits for it before it closes the reply socket, so its last queries are answered.
   */
  #batch: Promise<void> = Promise.resolve();
  /** Queries being handled, by correlation id (each with the connection it came on). */
  readonly #running = new Map<string, RunningQuery>();

  /** Checks the options (`ConfigurationError` for misuse); binds nothing — `start()` does. */
  constructor(options: ZeroMQConsumerOptions) {
    super(COMPONENT, 'zeromq', options, 1_000);
    this.#commandEndpoints = endpointList(options.commandEndpoint, 'commandEndpoint', COMPONENT);
    this.#queryEndpoints = endpointList(options.queryEndpoint, 'queryEndpoint', COMPONENT);
    if (this.#commandEndpoints.length + this.#queryEndpoints.length === 0) {
      throw new ConfigurationError(`${COMPONENT} needs a commandEndpoint, a queryEndpoint or both`);
    }
    const curve = options.curve;
    checkCurveServer(COMPONENT, curve);
    requireAuthOffLoopback(
      COMPONENT,
      tcpHosts([...this.#commandEndpoints, ...this.#queryEndpoints]),
      curve !== undefined,
      options.auth,
      'curve: { secretKey, allowedClientKeys }',
    );
    this.#curve = curve;
    this.#tuning = tuningOf(options, COMPONENT);
    this.#receiveHighWaterMark = checkOption(
      COMPONENT,
      'receiveHighWaterMark',
      options.receiveHighWaterMark,
      1_000,
      'count',
    );
    this.#sendHighWaterMark = checkOption(
      COMPONENT,
      'sendHighWaterMark',
      options.sendHighWaterMark,
      1_000,
      'count',
    );
    const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (maxMessageBytes !== -1)
      checkOption(COMPONENT, 'maxMessageBytes (or -1)', maxMessageBytes, 0, 'whole');
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Binds the sockets (after starting the ZAP handler, with an allow-list) and starts reading them. */
  protected async open(): Promise<ZeroMQBoundEndpoints> {
    const curve = this.#curve;
    let context: Context | undefined;
    let pull: Pull | undefined;
    let router: Router | undefined;
    const commands: string[] = [];
    const queries: string[] = [];
    try {
      if (curve !== undefined && curve.allowedClientKeys !== 'any') {
        // One ZAP handler per context: a private context keeps this allow-list to this consumer's sockets.
        context = new Context();
        this.#zap = new ZapHandler({
          context,
          allowedClientKeys: curve.allowedClientKeys,
          onDecision: (decision) => this.#onZapDecision(decision),
          onError: (error) => this.errors.report(error, 'connection'),
        });
        await this.#zap.start();
      }
      if (this.#commandEndpoints.length > 0) {
        pull = new Pull(this.#socketOptions(context));
        for (const endpoint of this.#commandEndpoints) {
          await pull.bind(endpoint);
          commands.push(pull.lastEndpoint ?? endpoint);
        }
      }
      if (this.#queryEndpoints.length > 0) {
        router = new Router({ ...this.#socketOptions(context), sendHighWaterMark: this.#sendHighWaterMark });
        for (const endpoint of this.#queryEndpoints) {
          await router.bind(endpoint);
          queries.push(router.lastEndpoint ?? endpoint);
        }
      }
    } catch (cause) {
      pull?.close();
      router?.close();
      await this.#zap?.close();
      this.#zap = undefined;
      throw new TransportError(`${COMPONENT} could not bind: ${errorMessage(cause)}`, { cause });
    }
    if (pull !== undefined) {
      this.#commands = {
        socket: pull,
        endpoints: commands,
        loop: this.#read(pull, 'command', this.#onCommand),
      };
    }
    if (router !== undefined) {
      this.#replies = new SocketWriter(router, {
        maxQueued: Number.MAX_SAFE_INTEGER,
        sendTimeoutMs: 0,
        label: `ZeroMQ reply socket (${queries.join(', ')})`,
        // Replies to one producer's batched queries, queued behind the send in progress, share a message.
        coalesce: {
          maxCount: MAX_REPLY_BATCH_COUNT,
          maxBytes: MAX_REPLY_BATCH_BYTES,
          combine: (writes) => joinBatch(writes, true),
        },
      });
      this.#queries = {
        socket: router,
        endpoints: queries,
        loop: this.#read(router, 'query', this.#onQuery),
      };
    }
    return { commands, queries };
  }

  /**
   * Reads on until the command socket has been quiet for a moment — every command a producer
   * already handed over is read and handled, while the connections stay up (unbinding drops them,
   * with whatever is still on its way) — then unbinds it, so no producer can hand over more, and
   * reads what arrived just before. Within the close's deadline. The query socket stays bound for
   * the replies; queries arriving now are answered with `SWITCHYARD_PRODUCER_CLOSED`.
   */
  protected async stopIntake(deadline: number): Promise<void> {
    const commands = this.#commands;
    if (commands === undefined) return;
    await commands.loop.idle(QUIET_MS, deadline);
    for (const endpoint of commands.endpoints) {
      try {
        await commands.socket.unbind(endpoint);
      } catch (cause) {
        this.errors.report(
          new TransportError(`${COMPONENT} could not unbind ${endpoint}: ${errorMessage(cause)}`, { cause }),
          'close',
        );
      }
    }
    await commands.loop.idle(SETTLE_MS, deadline);
  }

  /**
   * Closes the sockets. Handlers still running (`closeTimeoutMs` ran out) are cut off: a running
   * query is answered with `SWITCHYARD_PRODUCER_CLOSED` and its handler's signal fires; messages the
   * consumer had not read yet are refused the same way (a command is reported to `onError`).
   */
  protected async release(drained: boolean): Promise<void> {
    const commands = this.#commands;
    const queries = this.#queries;
    const commandsUnread = commands?.loop.stop() === true;
    const queriesUnread = queries?.loop.stop() === true;
    if (!drained) this.#cutOffRunningQueries();
    if (commands !== undefined && commandsUnread) await refuseUnread(commands.socket, this.#refuseCommand);
    if (queries !== undefined && queriesUnread) await refuseUnread(queries.socket, this.#refuseQuery);
    this.wakeSlotWaiters();
    // A batch waiting for a slot (woken just now) or between slices answers the rest of its queries
    // now that the consumer is closing; they must reach the reply socket before it closes. (A
    // failure is the read loop's to report.)
    await this.#batch.then(undefined, () => undefined);
    await this.#replies?.close(this.#tuning.linger);
    commands?.socket.close();
    queries?.socket.close();
    await Promise.all([commands?.loop.done, queries?.loop.done]);
    await this.#zap?.close();
  }

  /** A fresh options object per socket: zeromq.js deletes `context` from the object it is given. */
  #socketOptions(context: Context | undefined) {
    return {
      ...this.#tuning,
      receiveHighWaterMark: this.#receiveHighWaterMark,
      maxMessageSize: this.#maxMessageBytes,
      ...(context === undefined ? {} : { context }),
      ...curveServerSocketOptions(this.#curve),
    };
  }

  #read(socket: Pull | Router, kind: string, onMessage: (frames: Buffer[]) => Promise<void> | undefined) {
    return new ReceiveLoop(socket, {
      onMessage,
      onFailure: (cause) =>
        this.errors.report(
          new TransportError(`${COMPONENT}: the ${kind} socket failed: ${errorMessage(cause)}`, { cause }),
          'connection',
        ),
    });
  }

  /** One frame: the envelope of a command or event. Returns a promise while every slot is taken. */
  readonly #onCommand = (frames: Buffer[]): Promise<void> | undefined => {
    if (frames.length !== 1) {
      this.#reportFailed(new DecodeError(`Expected 1 frame on the command socket, got ${frames.length}`));
      return undefined;
    }
    this.track(this.#handleCommand(frames[0]!));
    return this.slotFree();
  };

  /**
   * Frames: routing id (added by the Router), correlation id, envelope — or an empty frame: a cancel.
   * Or a batch of such pairs (see batch-frames.ts), each handled as if it came alone; its replies
   * go back batched too.
   */
  readonly #onQuery = (frames: Buffer[]): Promise<void> | undefined => {
    let entries: BatchEntry[];
    try {
      if (!isBatch(frames, 1)) {
        return this.#onOneQuery(frames[0]!, frames[1], frames[2], frames.length === 3, undefined);
      }
      entries = readBatch(frames[1]!);
    } catch (error) {
      this.#reportFailed(error);
      return undefined;
    }
    this.#batch = this.#onBatch(frames[0]!, entries);
    return this.#batch;
  };

  /**
   * The queries of a batch, each as if it came alone, waiting for a free slot whenever every slot is
   * taken, and for the next turn of the event loop after each {@link QUERY_SLICE} of them.
   */
  async #onBatch(identity: Buffer, entries: readonly BatchEntry[]): Promise<void> {
    const batchKey = identity.toString('latin1');
    const last = entries.length - 1;
    for (let index = 0; index <= last; index++) {
      const { id, data } = entries[index]!;
      const slot = this.#onOneQuery(identity, id, data, true, batchKey);
      if (slot !== undefined) await slot;
      if (index % QUERY_SLICE === QUERY_SLICE - 1 && index < last) await nextTurn();
    }
  }

  /** One query (or cancel); `batchKey` set when it came in a batch, so its reply may join one. */
  #onOneQuery(
    identity: Buffer,
    correlation: Buffer | undefined,
    body: Buffer | undefined,
    wellFormed: boolean,
    batchKey: string | undefined,
  ): Promise<void> | undefined {
    if (
      !wellFormed ||
      correlation === undefined ||
      body === undefined ||
      correlation.length === 0 ||
      correlation.length > MAX_CORRELATION_BYTES
    ) {
      this.#reportFailed(
        new DecodeError(
          `Expected a correlation frame (1–${MAX_CORRELATION_BYTES} bytes) and an envelope on the query socket`,
        ),
      );
      return undefined;
    }
    const id = correlation.toString('utf8');
    if (body.length === 0) {
      // The caller stopped waiting (timeout, abort). A query that already finished is not found, and
      // only the connection that sent a query may cancel it.
      const running = this.#running.get(id);
      if (running?.identity.equals(identity) === true) {
        running.controller.abort(new Error('The caller stopped waiting for the reply'));
      }
      return undefined;
    }
    if (this.lifecycle.closing) {
      this.#reply(identity, correlation, this.receiver.errorReply(id, closingError()), batchKey);
      return undefined;
    }
    this.track(this.#handleQuery(identity, correlation, id, body, batchKey));
    return this.slotFree();
  }

  /** Decode → refuse a query (it has no way back from here) → validate → dispatch. Never rejects. */
  #handleCommand(body: Buffer): Promise<void> {
    const receiver = this.receiver;
    let decoded: AnyMessage;
    try {
      decoded = receiver.codec.decode(body);
    } catch (error) {
      this.#reportFailed(error, undefined, body); // the bytes, so a dead-letter sink keeps them
      return Promise.resolve();
    }
    if (decoded.kind === 'query') {
      const error = new DecodeError(
        `The query "${decoded.name}" arrived on the command socket; send queries to the query endpoint`,
      );
      this.#reportFailed(error, decoded);
      return Promise.resolve();
    }
    return receiver
      .accept(decoded)
      .then(
        (message) => receiver.dispatch(message),
        (error: unknown) => receiver.failed(error, decoded),
      )
      .then(this.#afterCommand);
  }

  readonly #afterCommand = (result: ReceiveResult): void => {
    if (!result.ok) this.reportFailure(result);
  };

  /**
   * Decode → check it is a query under its own id → validate → dispatch with a signal its caller's
   * cancel fires → reply on its connection. Even an envelope that cannot be read is answered (the
   * correlation frame says whom to tell). Never rejects.
   */
  #handleQuery(
    identity: Buffer,
    correlation: Buffer,
    id: string,
    body: Buffer,
    batchKey: string | undefined,
  ): Promise<void> {
    const receiver = this.receiver;
    let decoded: AnyMessage | undefined;
    try {
      decoded = receiver.codec.decode(body);
      if (decoded.kind !== 'query') {
        throw new DecodeError(
          `The ${decoded.kind} "${decoded.name}" arrived on the query socket; send it to the command endpoint`,
        );
      }
      if (decoded.id !== id) {
        throw new DecodeError(`The correlation frame does not match the id of "${decoded.name}"`);
      }
    } catch (error) {
      const result = this.#reportFailed(error, decoded);
      this.#reply(identity, correlation, result.reply ?? receiver.errorReply(id, error), batchKey);
      return Promise.resolve();
    }
    const query = decoded;
    const running: RunningQuery = { identity, correlation, controller: new AbortController(), batchKey };
    // Ids are UUIDs: one already running came from another connection (or a confused producer); the
    // first keeps its entry, and this one cannot be cancelled.
    const registered = !this.#running.has(id);
    if (registered) this.#running.set(id, running);
    const signal = running.controller.signal;
    return receiver
      .accept(query)
      .then(
        (message) => receiver.dispatch(message, signal),
        (error: unknown) => receiver.failed(error, query),
      )
      .then((result) => {
        if (registered) this.#running.delete(id);
        if (!result.ok) this.reportFailure(result);
        // Aborted: its caller stopped waiting, or the consumer already answered it at close.
        if (signal.aborted || result.reply === undefined) return;
        this.#reply(identity, correlation, result.reply, batchKey);
      });
  }

  /**
   * Writes a reply to the connection `identity`. `batchKey` (that connection, set only for a query
   * that came in a batch, so its producer reads batches) lets replies queued behind the send in
   * progress go out as one batch.
   */
  #reply(identity: Buffer, correlation: Buffer, reply: Reply, batchKey?: string): void {
    const writer = this.#replies;
    if (writer === undefined) return;
    // No promise per reply: nobody waits for it; a failure is reported with the query's id.
    writer.post(
      [identity, correlation, this.receiver.encodeReply(reply)],
      batchKey,
      this.#replyFailed,
      reply.inReplyTo,
    );
  }

  readonly #replyFailed = (error: unknown, messageId: unknown): void => {
    this.errors.report(error, 'reply', { messageId });
  };

  /**
   * Classifies a failure outside `dispatch` by the outcome table and reports it, with the message
   * when there is one, or the bytes (`envelope`) when they could not be decoded.
   */
  #reportFailed(error: unknown, message?: AnyMessage, envelope?: Buffer): ReceiveResult {
    const result = this.receiver.failed(error, message);
    if (!result.ok) this.reportFailure(result, undefined, envelope);
    return result;
  }

  /** `closeTimeoutMs` ran out with queries still running: answer them now and fire their signals. */
  #cutOffRunningQueries(): void {
    const error = closingError();
    for (const { identity, correlation, controller, batchKey } of this.#running.values()) {
      this.#reply(
        identity,
        correlation,
        this.receiver.errorReply(correlation.toString('utf8'), error),
        batchKey,
      );
      controller.abort(error);
    }
  }

  /** A command left unread at close: reported, with its id and name when it can be read. */
  readonly #refuseCommand = (frames: Buffer[]): void => {
    let message: AnyMessage | undefined;
    try {
      message = frames.length === 1 ? this.receiver.codec.decode(frames[0]!) : undefined;
    } catch {
      message = undefined;
    }
    this.#reportFailed(closingError(), message);
  };

  /** A query left unread at close: answered with `SWITCHYARD_PRODUCER_CLOSED`. */
  readonly #refuseQuery = (frames: Buffer[]): void => {
    const identity = frames[0]!;
    let entries: readonly BatchEntry[];
    let batchKey: string | undefined;
    try {
      if (isBatch(frames, 1)) {
        entries = readBatch(frames[1]!);
        batchKey = identity.toString('latin1');
      } else if (frames.length === 3) entries = [{ id: frames[1]!, data: frames[2]! }];
      else return;
    } catch {
      return; // not ours to answer
    }
    for (const { id, data } of entries) {
      if (data.length === 0 || id.length === 0) continue;
      this.#reply(identity, id, this.receiver.errorReply(id.toString('utf8'), closingError()), batchKey);
    }
  };

  #onZapDecision(decision: ZapDecision): void {
    if (decision.allowed) return;
    this.errors.report(
      new TransportError(
        `Refused a ${decision.mechanism} client from ${decision.address}: its key is not on the allow-list`,
      ),
      'auth',
      { address: decision.address, clientKey: decision.clientKey },
    );
  }
}

/**
 * Reads what is left in a socket without waiting and hands each message to `refuse`, until the
 * socket is empty (bounded by {@link MAX_REFUSED}).
 */
async function refuseUnread(socket: Pull | Router, refuse: (frames: Buffer[]) => void): Promise<void> {
  socket.receiveTimeout = 0;
  for (let count = 0; count < MAX_REFUSED; count++) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch {
      return; // EAGAIN: nothing left
    }
    refuse(frames);
  }
}

function closingError(): ProducerClosedError {
  return new ProducerClosedError('The ZeroMQ consumer is closing');
}
