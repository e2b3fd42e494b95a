import { JsonCodec } from '../codec/json-codec.ts';
import type { MessageCodec, Reply, WireData } from '../codec/message-codec.ts';
import type { Deferred } from '../deferred.ts';
import { deliveryOptionsRefused } from '../delivery-options.ts';
import {
  errorFromReply,
  InvalidMessageError,
  PayloadTooLargeError,
  ProducerClosedError,
  TransportError,
} from '../errors.ts';
import { type AnyMessage, deadlineOf, isMessage, withMetadata } from '../message.ts';
import type { MessageProducer, ProduceOptions, ProducerCapabilities } from '../message-producer.ts';
import { enableHandlingScope } from '../observability/handling-scope.ts';
import { currentInstrumentation } from '../observability/instrumentation.ts';
import { ErrorReporter, type ErrorReportingOptions } from './error-reporter.ts';
import { Lifecycle, type LifecycleOptions, type LifecycleState } from './lifecycle.ts';
import { checkOption } from './option-checks.ts';
import { PendingReplies } from './pending-replies.ts';
import type { OutgoingMessage, ProducerWire, WireChannel } from './producer-wire.ts';

/** The options every producer takes, whatever its transport. */
export interface TransportProducerOptions extends LifecycleOptions, ErrorReportingOptions {
  /** Wire format; the consumer must use the same. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
  /**
   * How long a query waits for its reply once sent, whatever timeout the caller gave (a shorter
   * caller timeout or deadline wins). Past it the query rejects with `SWITCHYARD_TIMEOUT`.
   * @default 30_000
   */
  readonly replyTimeoutMs?: number | undefined;
  /**
   * Largest encoded message this producer sends, in bytes. A larger one is refused at the sender
   * with `SWITCHYARD_PAYLOAD_TOO_LARGE` instead of being refused (or dropped) by the consumer.
   * Keep it at or below the consumer's `maxMessageBytes`.
   * @default 16_777_216 (16 MiB)
   */
  readonly maxMessageBytes?: number | undefined;
}

const DEFAULT_MAX_BYTES = 16 * 1024 * 1024;

/**
 * The one producer every transport shares: an adapter hands it a {@link ProducerWire} that moves
 * bytes, and it owns the semantics — refuse non-messages (`SWITCHYARD_INVALID_MESSAGE`) and
 * oversized ones at the sender, encode, carry the deadline, register and match replies, turn remote
 * failures into `RemoteError`, count work in flight, start and close once.
 *
 * The rule of the two channels: a failure to send rejects `produce`; the reply outcome settles the
 * query's deferred (for a command on a wire that confirms handling, the remote outcome settles
 * `produce`).
 *
 * @example
 * export class MyProducer extends TransportProducer<string> {
 *   constructor(options: MyProducerOptions) {
 *     super('MyProducer', 'my-transport', new MyWire(options), options);
 *   }
 * }
 */
export class TransportProducer<Address = string> implements MessageProducer {
  readonly capabilities: ProducerCapabilities;
  /** Where background failures go (`onError`, else the logger). */
  protected readonly errors: ErrorReporter;
  readonly #component: string;
  readonly #transport: string;
  readonly #wire: ProducerWire<Address>;
  readonly #codec: MessageCodec;
  readonly #lifecycle: Lifecycle<Address>;
  readonly #pending: PendingReplies | undefined;
  readonly #replyTimeoutMs: number;
  readonly #maxBytes: number;
  /** What the wire is handed when it opens. */
  readonly #channel: WireChannel;
  /** The id of the reply being settled right now (so its settling is not taken for a cancel). */
  #replying: string | undefined;

  /**
   * @param component the class name users see in errors, e.g. `"HttpProducer"`.
   * @param transport the transport's name, e.g. `"http"`.
   */
  constructor(
    component: string,
    transport: string,
    wire: ProducerWire<Address>,
    options: TransportProducerOptions = {},
  ) {
    this.#component = component;
    // Messages leave this process from here on: correlate what handlers dispatch.
    enableHandlingScope();
    this.#transport = transport;
    this.#wire = wire;
    this.#codec = options.codec ?? new JsonCodec();
    this.#lifecycle = new Lifecycle(component, options);
    this.errors = new ErrorReporter(component, transport, options);
    this.#replyTimeoutMs = checkOption(
      component,
      'replyTimeoutMs',
      options.replyTimeoutMs,
      30_000,
      'positive',
    );
    this.#maxBytes = checkOption(
      component,
      'maxMessageBytes',
      options.maxMessageBytes,
      DEFAULT_MAX_BYTES,
      'positive',
    );
    const { replies, confirmsHandling, durable, delivery, fanOut } = wire.capabilities;
    this.#pending =
      replies === 'channel' ? new PendingReplies({ timeoutMs: this.#replyTimeoutMs }) : undefined;
    this.capabilities = Object.freeze({
      replies: replies !== false,
      confirmsHandling,
      durable,
      ...(delivery === undefined || delivery.length === 0 ? {} : { delivery: Object.freeze([...delivery]) }),
      ...(fanOut === true ? { fanOut } : {}),
    });
    this.#channel = {
      codec: this.#codec,
      reply: (data, correlationId) => this.#onReply(data, correlationId),
      report: (error, stage) => this.errors.report(error, stage),
      rejectPending: (error) => this.#pending?.rejectAll(error),
    };
  }

  /**
   * Connects the wire (many transports connect lazily, so this may resolve before a peer is up) and
   * resolves with the address it reaches. Once; a second call gets the same promise. `produce`
   * starts the producer itself when it was not started.
   */
  start(): Promise<Address> {
    return this.#lifecycle.start(() => this.#wire.open(this.#channel));
  }

  /**
   * Refuses new messages, lets sends and queries in flight finish (up to `closeTimeoutMs`), rejects
   * queries still waiting with `SWITCHYARD_PRODUCER_CLOSED` and releases the connections. Once; a
   * second call awaits the first.
   */
  close(): Promise<void> {
    return this.#lifecycle.close({
      release: async (drained) => {
        this.#pending?.rejectAll(new ProducerClosedError('The producer closed before the reply arrived'));
        await this.#wire.close(drained);
      },
    });
  }

  /** `new`, `starting`, `started`, `closing` or `closed`. */
  get state(): LifecycleState {
    return this.#lifecycle.state;
  }

  /** The address `start()` resolved with, once it has. */
  get address(): Address | undefined {
    return this.#lifecycle.address;
  }

  /** Sends in progress plus queries waiting for their reply. */
  get inFlight(): number {
    return this.#lifecycle.inFlight.size;
  }

  /** Queries waiting for their reply on the reply channel. */
  get pendingReplies(): number {
    return this.#pending?.size ?? 0;
  }

  produce(message: AnyMessage, options?: ProduceOptions): Promise<void> {
    if (!isMessage(message)) {
      return Promise.reject(
        new InvalidMessageError(
          `${this.#component} sends Switchyard messages only (build them with a definition's create()); got ${describe(message)}`,
        ),
      );
    }
    // Instrumentation (observability/instrumentation.ts) wraps the send and may add trace context.
    const instrumentation = currentInstrumentation();
    if (instrumentation?.send !== undefined) {
      const observation = { message, transport: this.#transport, component: this.#component };
      return instrumentation.send(observation, (metadata) =>
        this.#produce(metadata === undefined ? message : withMetadata(message, metadata), options),
      );
    }
    return this.#produce(message, options);
  }

  #produce(message: AnyMessage, options: ProduceOptions | undefined): Promise<void> {
    const lifecycle = this.#lifecycle;
    if (lifecycle.closing) return Promise.reject(new ProducerClosedError());
    if (message.kind !== 'event' && this.capabilities.fanOut === true) {
      return Promise.reject(
        new InvalidMessageError(
          `The ${this.#component} publishes events to a topic; the ${message.kind} "${message.name}" needs a point-to-point transport`,
        ),
      );
    }
    const deferred = message.kind === 'query' ? options?.deferred : undefined;
    if (deferred?.settled === true) return Promise.resolve();
    const delivery = options?.delivery;
    if (delivery !== undefined) {
      const refused = deliveryOptionsRefused(
        delivery,
        this.#wire.capabilities.delivery ?? [],
        message.name,
        `the ${this.#component}`,
      );
      if (refused !== undefined) return Promise.reject(refused);
    }
    let data: WireData;
    try {
      data = this.#codec.encode(message);
    } catch (error) {
      return Promise.reject(error);
    }
    if (sizeOver(data, this.#maxBytes)) return Promise.reject(new PayloadTooLargeError(this.#maxBytes));
    const deadline = deadlineOf(message);
    const left = deadline === undefined ? undefined : Math.max(0, deadline - Date.now());
    const outgoing: OutgoingMessage = {
      message,
      data,
      expectsReply: deferred !== undefined,
      deadline,
      replyTimeoutMs:
        deferred === undefined
          ? left
          : left === undefined
            ? this.#replyTimeoutMs
            : Math.min(left, this.#replyTimeoutMs),
      signal: deferred !== undefined ? (deferred.raceable ? deferred.signal : undefined) : options?.signal,
      delivery,
    };
    if (lifecycle.state === 'started') return this.#send(outgoing, deferred);
    return this.start().then(() => this.#send(outgoing, deferred));
  }

  #send(outgoing: OutgoingMessage, deferred: Deferred<unknown> | undefined): Promise<void> {
    if (this.#lifecycle.closing) return Promise.reject(new ProducerClosedError());
    const replies = this.#wire.capabilities.replies;
    if (deferred !== undefined && replies === 'channel') return this.#sendQuery(outgoing, deferred);
    const inFlight = this.#lifecycle.inFlight;
    inFlight.enter();
    let sent: Promise<WireData | undefined>;
    try {
      sent = this.#wire.send(outgoing);
    } catch (error) {
      sent = Promise.reject(error);
    }
    const confirms = this.#wire.capabilities.confirmsHandling;
    return sent.then(
      (data) => {
        inFlight.leave();
        // An inline reply — the answer to the send — settles a query, or fails a confirmed command.
        if (deferred !== undefined) this.#settleInline(outgoing.message, data, deferred);
        else if (confirms && data !== undefined) this.#checkConfirmation(outgoing.message, data);
      },
      (error: unknown) => {
        inFlight.leave();
        throw error;
      },
    );
  }

  /** A query over a reply channel: registered before it is sent, settled by {@link #onReply}. */
  #sendQuery(outgoing: OutgoingMessage, deferred: Deferred<unknown>): Promise<void> {
    const message = outgoing.message;
    const pending = this.#pending!;
    // replyTimeoutMs, cut to the time left before the deadline (see produce).
    if (!pending.add(message.id, message.name, deferred, outgoing.replyTimeoutMs)) {
      return Promise.resolve(); // a duplicate id: the deferred was rejected
    }
    const inFlight = this.#lifecycle.inFlight;
    inFlight.enter();
    const wire = this.#wire;
    deferred.onSettled(() => {
      inFlight.leave();
      // Settled by anything but its reply (timeout, abort, close): tell the consumer, if the wire can.
      if (wire.cancel !== undefined && this.#replying !== message.id) {
        try {
          wire.cancel(outgoing);
        } catch (error) {
          this.errors.report(error, 'connection', { messageId: message.id, messageName: message.name });
        }
      }
    });
    let sent: Promise<WireData | undefined>;
    try {
      sent = wire.send(outgoing);
    } catch (error) {
      sent = Promise.reject(error);
    }
    // A failed send rejects the query too, which takes it out of the pending replies. A send still
    // blocked (no room, no peer) when the query settles — its reply timeout, the caller giving up,
    // close — no longer holds the dispatch: produce() settles with the query.
    return new Promise<void>((resolve, reject) => {
      sent.then(
        () => resolve(),
        (error: unknown) => {
          pending.reject(message.id, error);
          reject(error);
        },
      );
      deferred.onSettled(resolve);
    });
  }

  /** The reply sink handed to the wire: decodes a reply and settles the query it belongs to. */
  readonly #onReply = (data: WireData, correlationId?: string): void => {
    const pending = this.#pending;
    if (pending === undefined) return;
    let reply: Reply;
    try {
      reply = this.#codec.decodeReply(data);
    } catch (error) {
      // The transport says whose reply this is: tell that caller now instead of at the timeout.
      if (correlationId !== undefined && pending.has(correlationId)) pending.reject(correlationId, error);
      else this.errors.report(error, 'reply');
      return;
    }
    if (correlationId !== undefined && reply.inReplyTo !== correlationId) {
      this.errors.report(
        new TransportError(
          `A reply to "${reply.inReplyTo}" arrived under the correlation id "${correlationId}"`,
        ),
        'reply',
        { messageId: correlationId },
      );
      return;
    }
    this.#replying = reply.inReplyTo;
    try {
      pending.settle(reply); // false: late (timed out, aborted) or not ours — dropped
    } finally {
      this.#replying = undefined;
    }
  };

  #settleInline(message: AnyMessage, data: WireData | undefined, deferred: Deferred<unknown>): void {
    const reply = this.#readInline(message, data);
    if (reply.ok) deferred.resolve(reply.result);
    else deferred.reject(errorFromReply(message.name, reply.error));
  }

  /** A command on a wire that confirms handling: a failed reply rejects the dispatch with the remote error. */
  #checkConfirmation(message: AnyMessage, data: WireData): void {
    const reply = this.#readInline(message, data);
    if (!reply.ok) throw errorFromReply(message.name, reply.error);
  }

  #readInline(message: AnyMessage, data: WireData | undefined): Reply {
    if (data === undefined) {
      throw new TransportError(`The ${this.#component} transport answered "${message.name}" without a reply`);
    }
    let reply: Reply;
    try {
      reply = this.#codec.decodeReply(data);
    } catch (cause) {
      throw new TransportError(`The reply to "${message.name}" could not be read`, { cause });
    }
    if (reply.inReplyTo !== message.id) {
      throw new TransportError(
        `"${message.name}" was answered with a reply to another message (${reply.inReplyTo})`,
      );
    }
    return reply;
  }
}

/** True when `data` is larger than `max` bytes; counts a string's UTF-8 bytes only when it may be over. */
function sizeOver(data: WireData, max: number): boolean {
  if (typeof data !== 'string') return data.byteLength > max;
  return data.length * 3 > max && Buffer.byteLength(data, 'utf8') > max;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  const name = (value as { name?: unknown }).name;
  return typeof name === 'string'
    ? `an object named "${name}" without id or kind`
    : 'an object that is not a message';
}
