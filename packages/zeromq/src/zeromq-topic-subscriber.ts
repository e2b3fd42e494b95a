import {
  type AnyMessage,
  ConfigurationError,
  checkOption,
  checkSubscription,
  DecodeError,
  errorMessage,
  eventMatcher,
  type SubscriptionOptions,
  TransportConsumer,
  type TransportConsumerOptions,
  TransportError,
} from '@switchyard/core';
import { Subscriber } from 'zeromq';
import { checkCurveClient } from './curve-options.ts';
import { ReceiveLoop } from './receive-loop.ts';
import { type Endpoints, endpointList } from './zeromq-endpoints.ts';
import type { ZeroMQCurveClientOptions } from './zeromq-producer.ts';
import { type SocketTuning, tuningOf, type ZeroMQSocketOptions } from './zeromq-socket-options.ts';
import { subscriptionPrefixes } from './zeromq-topic-prefixes.ts';
import { requireTopicAuth } from './zeromq-topic-protected-mode.ts';

/**
 * Options of the {@link ZeroMQTopicSubscriber}. Besides its own, it takes those of every consumer
 * (`TransportConsumerOptions`): `eventBus` (where arriving events go), `definitions`, `validate`,
 * `codec`, `onError` (with `context.stage`: `receive` — with `context.group` —, `connection`,
 * `close`) and `logger`.
 */
export interface ZeroMQTopicSubscriberOptions
  extends TransportConsumerOptions,
    Omit<ZeroMQSocketOptions, 'lingerMs'>,
    SubscriptionOptions {
  /**
   * The publisher endpoint(s) to connect to, e.g. `tcp://orders.internal:5560`. ZeroMQ connects in
   * the background and reconnects by itself; with several, events of every publisher arrive.
   */
  readonly endpoint: Endpoints;
  /**
   * A name for this subscriber in error reports (`context.group`) and logs. ZeroMQ has no competing
   * consumers: every connected subscriber receives every event it subscribed to, even two in the
   * same group.
   */
  readonly group: string;
  /**
   * The events to receive: names (matched exactly) or patterns where `*` stands for any run of
   * characters (`'Order*'`, `'billing.*'`, `'*'`). ZeroMQ filters by the prefix before the first
   * `*` at the publisher; the subscriber checks the whole name.
   * @default undefined — `messageNames` (with `createSwitchyard`: the events this process handles
   * that are routed to the topic)
   */
  readonly events?: readonly string[] | undefined;
  /**
   * The events this process handles on this topic; `createSwitchyard` sets it. The subscription
   * when `events` is not given.
   * @default undefined
   */
  readonly messageNames?: readonly string[] | undefined;
  /**
   * Events handled at the same time. At the limit the subscriber stops reading: events wait in its
   * socket (`receiveHighWaterMark`), then at the publisher (its `sendHighWaterMark`), then the
   * publisher drops new ones for this subscriber.
   * @default 1_000
   */
  readonly concurrency?: number | undefined;
  /**
   * `close()`: how long the handlers already running may take to finish. Past it their `signal`
   * fires and the socket closes anyway. Events not yet read are dropped (at most once).
   * @default 10_000
   */
  readonly closeTimeoutMs?: number | undefined;
  /**
   * Largest message (both frames together) accepted from a publisher, in bytes (ZMQ_MAXMSGSIZE). A
   * publisher that sends a bigger one is disconnected (and reconnected to) before it is buffered
   * whole. `-1` means no limit; keep it at or above the publisher's `maxMessageBytes`.
   * @default 16_842_752 (16 MiB + 64 KiB for the name frame and envelope)
   */
  readonly maxMessageBytes?: number | undefined;
  /** Events ZeroMQ buffers per publisher connection before the publisher starts dropping for this subscriber (ZMQ_RCVHWM). @default 1_000 */
  readonly receiveHighWaterMark?: number | undefined;
  /**
   * Encrypt and authenticate with CURVE: `serverPublicKey` is the publisher's public key (the
   * subscriber only talks to the publisher that holds its secret key); the publisher's allow-list
   * must hold `publicKey`.
   * @default undefined — plain TCP: unencrypted and unauthenticated
   */
  readonly curve?: ZeroMQCurveClientOptions | undefined;
  /**
   * Protected mode: a `tcp://` endpoint on another host needs `curve`, or `auth: 'none'` to accept
   * plain, unauthenticated TCP from it on purpose — else the constructor throws
   * `ConfigurationError`. Loopback and `ipc://` endpoints need neither.
   * @default undefined — CURVE required off loopback
   */
  readonly auth?: 'none' | undefined;
}

const COMPONENT = 'ZeroMQTopicSubscriber';
const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 64 * 1024;

/** The zeromq.js options the Subscriber socket is created with. */
interface SubscriberSocketOptions extends SocketTuning {
  readonly receiveHighWaterMark: number;
  readonly maxMessageSize: number;
  readonly curveServerKey?: string;
  readonly curvePublicKey?: string;
  readonly curveSecretKey?: string;
}

/**
 * Subscribes to the events of one or more {@link ZeroMQTopicPublisher}s over a ZeroMQ Subscriber
 * socket that connects to them, and runs each through core's receive pipeline (decode → validate →
 * mark as arrived → refuse expired → dispatch into `eventBus`). **At most once**: it receives the
 * events published while it is connected and subscribed; nothing published before (or while it was
 * away) ever arrives, and an event in flight when either side dies is lost.
 *
 * The publisher is unchanged by a subscriber coming or going. `start()` connects in the background
 * and resolves at once — the first events after it may still be missed (ZeroMQ's slow joiner);
 * {@link connected} says whether a publisher is connected. Malformed input (a message that is not
 * `[name, envelope]`, a name frame that does not match the envelope, a command or a query) is
 * reported to `onError` and dropped; a failing handler is reported (`stage: 'receive'`), never
 * retried. Default `concurrency`: 1_000.
 *
 * @example
 * const subscriber = new ZeroMQTopicSubscriber({
 *   endpoint: 'tcp://127.0.0.1:5560',
 *   group: 'mailer',
 *   events: ['UserRegistered', 'Order*'],
 *   eventBus,
 *   onError: (error, context) => console.error(`${context.group} (${context.stage}):`, error),
 * });
 * await subscriber.start();
 * // … on shutdown:
 * await subscriber.close();
 */
export class ZeroMQTopicSubscriber extends TransportConsumer<readonly string[]> {
  /** The subscriber group (a name in reports; see {@link ZeroMQTopicSubscriberOptions.group}). */
  readonly group: string;
  /** The event names and patterns this subscriber receives. */
  readonly events: readonly string[];
  readonly #endpoints: readonly string[];
  readonly #wanted: (name: string) => boolean;
  readonly #prefixes: readonly string[];
  readonly #socketOptions: SubscriberSocketOptions;
  readonly #detail: Readonly<Record<string, unknown>>;
  /** Fires the signal of the handlers still running when `closeTimeoutMs` runs out. */
  readonly #closing = new AbortController();
  /** Publisher connections that completed their handshake, by address. */
  readonly #connected = new Set<string>();
  #socket: Subscriber | undefined;
  #loop: ReceiveLoop | undefined;

  /** Checks the options (`ConfigurationError` for misuse); connects nothing — `start()` does. */
  constructor(options: ZeroMQTopicSubscriberOptions) {
    super(COMPONENT, 'zeromq', { ...options, consumerGroup: options.group }, 1_000);
    this.#endpoints = endpointList(options.endpoint, 'endpoint', COMPONENT);
    if (this.#endpoints.length === 0) {
      throw new ConfigurationError(
        `${COMPONENT} needs the endpoint of a publisher to connect to, e.g. "tcp://127.0.0.1:5560"`,
      );
    }
    const events = options.events ?? options.messageNames;
    checkSubscription(options.group, events);
    this.group = options.group;
    this.events = Object.freeze([...(events as readonly string[])]);
    this.#wanted = eventMatcher(this.events);
    this.#prefixes = subscriptionPrefixes(this.events);
    this.#detail = Object.freeze({ group: this.group });
    const curve = options.curve;
    checkCurveClient(COMPONENT, curve);
    requireTopicAuth('subscriber', this.#endpoints, curve !== undefined, options.auth);
    const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (maxMessageBytes !== -1) {
      checkOption(COMPONENT, 'maxMessageBytes (or -1)', maxMessageBytes, 0, 'whole');
    }
    this.#socketOptions = {
      ...tuningOf(options, COMPONENT),
      // A subscriber sends nothing but its subscriptions: nothing to flush at close (one still
      // queued for a publisher never reached would otherwise keep the process alive for the linger).
      linger: 0,
      receiveHighWaterMark: checkOption(
        COMPONENT,
        'receiveHighWaterMark',
        options.receiveHighWaterMark,
        1_000,
        'count',
      ),
      maxMessageSize: maxMessageBytes,
      ...(curve === undefined
        ? {}
        : {
            curveServerKey: curve.serverPublicKey,
            curvePublicKey: curve.publicKey,
            curveSecretKey: curve.secretKey,
          }),
    };
  }

  /** Publishers connected right now (handshake completed). `0` right after `start()`, until ZeroMQ connects. */
  get connected(): number {
    return this.#connected.size;
  }

  /** Subscribes, connects (in the background) and starts reading; resolves with the endpoints. */
  protected async open(): Promise<readonly string[]> {
    let socket: Subscriber | undefined;
    try {
      socket = new Subscriber({ ...this.#socketOptions });
      const connected = this.#connected;
      socket.events.on('handshake', ({ address }) => connected.add(address));
      socket.events.on('disconnect', ({ address }) => connected.delete(address));
      for (const prefix of this.#prefixes) socket.subscribe(prefix);
      for (const endpoint of this.#endpoints) socket.connect(endpoint);
    } catch (cause) {
      socket?.close();
      throw new TransportError(`${COMPONENT} could not connect: ${errorMessage(cause)}`, { cause });
    }
    this.#socket = socket;
    this.#loop = new ReceiveLoop(socket, {
      onMessage: this.#onMessage,
      onFailure: (cause) =>
        this.errors.report(
          new TransportError(`${COMPONENT}: the subscriber socket failed: ${errorMessage(cause)}`, { cause }),
          'connection',
          this.#detail,
        ),
    });
    return this.#endpoints;
  }

  /** Stops reading: what is still buffered in the socket is dropped (at most once). */
  protected stopIntake(): void {
    this.#loop?.stop();
  }

  /** Fires the signal of handlers still running (when `closeTimeoutMs` ran out) and closes the socket. */
  protected async release(drained: boolean): Promise<void> {
    if (!drained) this.#closing.abort(new Error('The ZeroMQ topic subscriber closed'));
    this.#loop?.stop();
    this.wakeSlotWaiters();
    this.#socket?.close();
    await this.#loop?.done;
  }

  /** `[event name, envelope]`: an event this subscriber wants is handled; others are skipped. */
  readonly #onMessage = (frames: Buffer[]): Promise<void> | undefined => {
    if (this.lifecycle.closing) return undefined; // read after close() began: dropped
    if (frames.length !== 2) {
      this.#reportFailed(
        new DecodeError(
          `Expected an event name frame and an envelope on the topic, got ${frames.length} frame(s)`,
        ),
      );
      return undefined;
    }
    const name = frames[0]!.toString('utf8');
    // ZeroMQ matched a prefix only: 'Order' also brings 'OrderPlaced'. Not wanted: skipped, not an error.
    if (!this.#wanted(name)) return undefined;
    this.track(this.#handle(name, frames[1]!));
    return this.slotFree();
  };

  /** Decode → check it is the event its name frame says → validate → dispatch. Never rejects. */
  #handle(name: string, body: Buffer): Promise<void> {
    const receiver = this.receiver;
    let decoded: AnyMessage;
    try {
      decoded = receiver.codec.decode(body);
    } catch (error) {
      this.#reportFailed(error, undefined, body);
      return Promise.resolve();
    }
    if (decoded.kind !== 'event' || decoded.name !== name) {
      const error = new DecodeError(
        decoded.kind !== 'event'
          ? `The ${decoded.kind} "${decoded.name}" arrived on a topic, which carries events only`
          : `The name frame "${name}" does not match the event "${decoded.name}"`,
      );
      this.#reportFailed(error, decoded, body);
      return Promise.resolve();
    }
    return receiver
      .accept(decoded)
      .then(
        (message) => receiver.dispatch(message, this.#closing.signal),
        (error: unknown) => receiver.failed(error, decoded),
      )
      .then((result) => {
        if (!result.ok) this.reportFailure(result, this.#detail, body);
      });
  }

  /** Classifies a failure outside `dispatch` by the outcome table and reports it (`envelope`: the bytes as received). */
  #reportFailed(error: unknown, message?: AnyMessage, envelope?: Buffer): void {
    const result = this.receiver.failed(error, message);
    if (!result.ok) this.reportFailure(result, this.#detail, envelope);
  }
}
