import {
  type AnyMessage,
  ConfigurationError,
  DecodeError,
  fulfilledWithin,
  MessageReceiver,
  type ReceiverOptions,
  type Reply,
  TransportError,
} from '@switchyard/core';
import { Context, Pull, Router } from 'zeromq';
import { SocketWriter } from './socket-writer.ts';
import { isCurveKey } from './z85.ts';
import { type ZapDecision, ZapHandler } from './zap-handler.ts';
import { type Endpoints, endpointList, tuningOf, type ZeroMQSocketOptions } from './zeromq-socket-options.ts';

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

/** The endpoints a consumer is bound to, with ports chosen by the system filled in. */
export interface ZeroMQBoundEndpoints {
  /** Pull endpoints, for a producer's `commandEndpoint`. */
  readonly commands: readonly string[];
  /** Router endpoints, for a producer's `queryEndpoint`. */
  readonly queries: readonly string[];
}

/** Options of the {@link ZeroMQConsumer}. */
export interface ZeroMQConsumerOptions extends ReceiverOptions, ZeroMQSocketOptions {
  /**
   * Where to receive commands and events (a Pull socket binds here), e.g. `tcp://0.0.0.0:5555`,
   * `tcp://127.0.0.1:0` for a port chosen by the system, or `ipc:///run/orders.sock`.
   * @default undefined — no command socket
   */
  readonly commandEndpoint?: Endpoints | undefined;
  /**
   * Where to receive queries (a Router socket binds here); replies go back on the same connection.
   * @default undefined — no query socket
   */
  readonly queryEndpoint?: Endpoints | undefined;
  /**
   * Called with every message that failed (malformed frames or envelope, validation, handler error,
   * refused CURVE client). The message is dropped (a query also gets an error reply); the consumer
   * keeps serving. Exceptions it throws are ignored.
   * @default undefined — failures are dropped silently after the reply
   */
  readonly onError?: ((error: unknown) => void) | undefined;
  /**
   * Messages handled at the same time, both sockets together. At the limit the consumer stops
   * reading, so ZeroMQ's high-water marks push back on the producers.
   * @default 1_000
   */
  readonly maxInFlight?: number | undefined;
  /** Messages ZeroMQ buffers per producer before it stops reading from it (ZMQ_RCVHWM). @default 1_000 */
  readonly receiveHighWaterMark?: number | undefined;
  /** Replies ZeroMQ queues per producer; past it a reply is dropped and the query times out (ZMQ_SNDHWM). @default 1_000 */
  readonly sendHighWaterMark?: number | undefined;
  /**
   * How long `close()` waits for messages being handled to finish (and their replies to be sent)
   * before it closes the sockets anyway.
   * @default 10_000
   */
  readonly closeTimeoutMs?: number | undefined;
  /**
   * Largest message (all frames together) accepted from a producer, in bytes (ZMQ_MAXMSGSIZE). A peer
   * that sends a bigger one is disconnected before it is buffered whole. `-1` means no limit; keep it
   * at or above the codec's own limit.
   * @default 16_842_752 (16 MiB + 64 KiB for frames and envelope)
   */
  readonly maxMessageBytes?: number | undefined;
  /** Encrypt and authenticate with CURVE. @default undefined — plain TCP: unencrypted and unauthenticated */
  readonly curve?: ZeroMQCurveServerOptions | undefined;
}

const MAX_CORRELATION_BYTES = 256;

/**
 * Receives commands and events on a Pull socket and queries on a Router socket, dispatches them into
 * the local buses (through core's `MessageReceiver`: decode, validate, mark as arrived, dispatch) and
 * answers each query on the connection it came from, with the correlation frame it came with.
 * Malformed input is reported to `onError` and dropped — never a crash, never a stop.
 *
 * @example
 * const consumer = new ZeroMQConsumer({
 *   commandEndpoint: 'tcp://0.0.0.0:5555',
 *   queryEndpoint: 'tcp://0.0.0.0:5556',
 *   commandBus, eventBus, queryBus,
 *   onError: (error) => console.error('zeromq consumer:', error),
 * });
 * await consumer.start();
 * // … on shutdown:
 * await consumer.close();
 */
export class ZeroMQConsumer {
  readonly #receiver: MessageReceiver;
  readonly #options: ZeroMQConsumerOptions;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #maxInFlight: number;
  #pull: Pull | undefined;
  #router: Router | undefined;
  #replies: SocketWriter | undefined;
  #zap: ZapHandler | undefined;
  #loops: Promise<void>[] = [];
  #inFlight = 0;
  #slotFreed: (() => void) | undefined;
  #drained: (() => void) | undefined;
  #bound: ZeroMQBoundEndpoints | undefined;
  #starting: Promise<ZeroMQBoundEndpoints> | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;

  constructor(options: ZeroMQConsumerOptions) {
    if (endpointList(options.commandEndpoint).length + endpointList(options.queryEndpoint).length === 0) {
      throw new ConfigurationError('ZeroMQConsumer needs a commandEndpoint, a queryEndpoint or both');
    }
    const curve = options.curve;
    if (curve !== undefined) {
      if (!isCurveKey(curve.secretKey)) {
        throw new ConfigurationError(
          'curve.secretKey must be a 40-character Z85 key (see generateCurveKeyPair)',
        );
      }
      if (curve.allowedClientKeys !== 'any' && !curve.allowedClientKeys.every(isCurveKey)) {
        throw new ConfigurationError('curve.allowedClientKeys must hold 40-character Z85 public keys');
      }
    }
    this.#options = options;
    this.#receiver = new MessageReceiver('zeromq', options);
    this.#onError = options.onError;
    this.#maxInFlight = Math.max(1, options.maxInFlight ?? 1_000);
  }

  /** The endpoints bound by `start()`, ports chosen by the system filled in; undefined before. */
  get endpoints(): ZeroMQBoundEndpoints | undefined {
    return this.#bound;
  }

  /** Messages being handled right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Binds the sockets and starts serving; resolves with the bound endpoints. Safe to call twice. */
  start(): Promise<ZeroMQBoundEndpoints> {
    if (this.#closing) return Promise.reject(new TransportError('The ZeroMQ consumer is closed'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /**
   * Stops taking messages, waits (up to `closeTimeoutMs`) for those being handled and for their
   * replies, then closes the sockets (each lingering at most `lingerMs`). Queries that arrive while
   * closing are answered with a `SWITCHYARD_TRANSPORT_ERROR` reply. Safe to call twice.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #start(): Promise<ZeroMQBoundEndpoints> {
    const options = this.#options;
    const tuning = tuningOf(options);
    const curve = options.curve;
    let context: Context | undefined;
    if (curve !== undefined && curve.allowedClientKeys !== 'any') {
      // One ZAP handler per context: a private context keeps this allow-list to this consumer's sockets.
      context = new Context();
      this.#zap = new ZapHandler({
        context,
        allowedClientKeys: curve.allowedClientKeys,
        onDecision: (decision) => this.#onZapDecision(decision),
      });
      await this.#zap.start();
    }
    // A function, not an object: zeromq.js deletes `context` from the options object it is given.
    const socketOptions = () => ({
      ...tuning,
      receiveHighWaterMark: options.receiveHighWaterMark ?? 1_000,
      maxMessageSize: options.maxMessageBytes ?? 16 * 1024 * 1024 + 64 * 1024,
      ...(context === undefined ? {} : { context }),
      ...(curve === undefined
        ? {}
        : {
            curveServer: true,
            curveSecretKey: curve.secretKey,
            zapDomain: 'switchyard',
            // Fail closed: with an allow-list, a handshake that cannot reach the ZAP handler is refused.
            zapEnforceDomain: curve.allowedClientKeys !== 'any',
          }),
    });
    const commands: string[] = [];
    const queries: string[] = [];
    try {
      const commandEndpoints = endpointList(options.commandEndpoint);
      if (commandEndpoints.length > 0) {
        const pull = new Pull(socketOptions());
        this.#pull = pull;
        for (const endpoint of commandEndpoints) {
          await pull.bind(endpoint);
          commands.push(pull.lastEndpoint ?? endpoint);
        }
      }
      const queryEndpoints = endpointList(options.queryEndpoint);
      if (queryEndpoints.length > 0) {
        const router = new Router({
          ...socketOptions(),
          sendHighWaterMark: options.sendHighWaterMark ?? 1_000,
        });
        this.#router = router;
        for (const endpoint of queryEndpoints) {
          await router.bind(endpoint);
          queries.push(router.lastEndpoint ?? endpoint);
        }
        this.#replies = new SocketWriter(router, {
          maxQueued: Number.MAX_SAFE_INTEGER,
          sendTimeoutMs: 0,
          label: `ZeroMQ reply socket (${queries.join(', ')})`,
        });
      }
    } catch (cause) {
      this.#pull?.close();
      this.#router?.close();
      await this.#zap?.close();
      throw new TransportError(`ZeroMQConsumer could not bind: ${(cause as Error).message}`, { cause });
    }
    if (this.#pull !== undefined) this.#loops.push(this.#serveCommands(this.#pull));
    if (this.#router !== undefined) this.#loops.push(this.#serveQueries(this.#router));
    this.#bound = { commands, queries };
    return this.#bound;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    if (this.#starting !== undefined) await this.#starting.catch(() => undefined);
    // Commands not read yet stay unread (at-most-once); the Router keeps answering until the end.
    this.#pull?.close();
    if (this.#inFlight > 0) {
      const drained = new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
      await fulfilledWithin(drained, this.#options.closeTimeoutMs ?? 10_000);
    }
    await this.#replies?.close(tuningOf(this.#options).linger);
    this.#router?.close();
    this.#slotFreed?.();
    await Promise.all(this.#loops);
    await this.#zap?.close();
  }

  async #serveCommands(pull: Pull): Promise<void> {
    try {
      for await (const frames of pull) {
        if (frames.length !== 1) {
          this.#report(new DecodeError(`Expected 1 frame on the command socket, got ${frames.length}`));
          continue;
        }
        this.#track(this.#handleCommand(frames[0]!));
        if (this.#inFlight >= this.#maxInFlight) await this.#freeSlot();
        if (this.#closing) break;
      }
    } catch (error) {
      if (!this.#closing) this.#report(new TransportError('The command socket failed', { cause: error }));
    }
  }

  async #serveQueries(router: Router): Promise<void> {
    try {
      for await (const frames of router) {
        // Frames: routing id (added by the Router), correlation id, envelope.
        const [identity, correlation, body] = frames;
        if (frames.length !== 3 || correlation!.length === 0 || correlation!.length > MAX_CORRELATION_BYTES) {
          this.#report(
            new DecodeError(
              `Expected a correlation frame (1–${MAX_CORRELATION_BYTES} bytes) and an envelope on the query socket, got ${frames.length - 1} frame(s)`,
            ),
          );
          continue;
        }
        if (this.#closing) {
          this.#reply(
            identity!,
            correlation!,
            this.#receiver.errorReply(
              correlation!.toString('utf8'),
              new TransportError('The ZeroMQ consumer is closing'),
            ),
          );
          continue;
        }
        this.#track(this.#handleQuery(identity!, correlation!, body!));
        if (this.#inFlight >= this.#maxInFlight) await this.#freeSlot();
      }
    } catch (error) {
      if (!this.#router?.closed)
        this.#report(new TransportError('The query socket failed', { cause: error }));
    }
  }

  async #handleCommand(body: Buffer): Promise<void> {
    let message: AnyMessage;
    try {
      message = await this.#receiver.decode(body);
    } catch (error) {
      this.#report(error);
      return;
    }
    if (message.kind === 'query') {
      this.#report(
        new DecodeError(
          `The query "${message.name}" arrived on the command socket; send queries to the query endpoint`,
        ),
      );
      return;
    }
    const result = await this.#receiver.dispatch(message);
    if (!result.ok) this.#report(result.error);
  }

  async #handleQuery(identity: Buffer, correlation: Buffer, body: Buffer): Promise<void> {
    const id = correlation.toString('utf8');
    let message: AnyMessage;
    try {
      message = await this.#receiver.decode(body);
      if (message.kind !== 'query') {
        throw new DecodeError(
          `The ${message.kind} "${message.name}" arrived on the query socket; send it to the command endpoint`,
        );
      }
      if (message.id !== id) {
        throw new DecodeError(`The correlation frame does not match the id of "${message.name}"`);
      }
    } catch (error) {
      // The envelope is unusable, but the correlation frame says whom to tell.
      this.#report(error);
      this.#reply(identity, correlation, this.#receiver.errorReply(id, error));
      return;
    }
    const result = await this.#receiver.dispatch(message);
    if (!result.ok) this.#report(result.error);
    if (result.reply !== undefined) this.#reply(identity, correlation, result.reply);
  }

  #reply(identity: Buffer, correlation: Buffer, reply: Reply): void {
    const writer = this.#replies;
    if (writer === undefined) return;
    writer.write([identity, correlation, this.#receiver.encodeReply(reply)]).catch((error: unknown) => {
      this.#report(error);
    });
  }

  #track(work: Promise<void>): void {
    this.#inFlight++;
    work.then(this.#done, this.#failed);
  }

  readonly #done = (): void => {
    this.#inFlight--;
    const freed = this.#slotFreed;
    if (freed !== undefined) {
      this.#slotFreed = undefined;
      freed();
    }
    if (this.#inFlight === 0) this.#drained?.();
  };

  readonly #failed = (error: unknown): void => {
    this.#report(error);
    this.#done();
  };

  #freeSlot(): Promise<void> {
    return new Promise<void>((resolve) => {
      const previous = this.#slotFreed;
      this.#slotFreed = () => {
        previous?.();
        resolve();
      };
    });
  }

  #onZapDecision(decision: ZapDecision): void {
    if (decision.allowed) return;
    this.#report(
      new TransportError(
        `Refused a ${decision.mechanism} client from ${decision.address}: its key is not on the allow-list`,
      ),
    );
  }

  #report(error: unknown): void {
    try {
      this.#onError?.(error);
    } catch {
      // A failing error hook must not take the consumer down.
    }
  }
}
