import type { MessageCodec, WireData } from '../codec/message-codec.ts';
import type { DeliveryOption, DeliveryOptions } from '../delivery-options.ts';
import type { AnyMessage } from '../message.ts';

/** How a wire carries query replies. */
export type WireReplies =
  /** The reply comes back as the answer to the send itself (HTTP: the response body). */
  | 'inline'
  /** Replies come back on a channel of their own, to the wire's {@link ReplySink} (ZeroMQ, BullMQ, in-memory). */
  | 'channel'
  /** This wire cannot carry queries. */
  | false;

/** What a wire declares; core's producer reads it (and routers refuse queries to a wire without replies). */
export interface WireCapabilities {
  readonly replies: WireReplies;
  /** A command's send resolves only after the remote handler finished, with its reply (see `ProducerCapabilities`). */
  readonly confirmsHandling: boolean;
  /** Messages survive a restart of either side. */
  readonly durable: boolean;
  /** The per-message delivery options the wire honours; core refuses the others. @default none */
  readonly delivery?: readonly DeliveryOption[] | undefined;
  /** The wire publishes events to a topic (see `ProducerCapabilities.fanOut`); core refuses commands and queries. @default false */
  readonly fanOut?: boolean | undefined;
}

/** One message on its way out, as core hands it to the wire. */
export interface OutgoingMessage {
  /** The message (its metadata carries the deadline, `switchyard.deadline`, when it has one). */
  readonly message: AnyMessage;
  /** The encoded envelope. */
  readonly data: WireData;
  /** True for a query whose reply someone waits for. */
  readonly expectsReply: boolean;
  /** The deadline in ms since the epoch, or `undefined`. Sending must not outlive it. */
  readonly deadline: number | undefined;
  /**
   * How long the answer may take once the message is sent, for wires that wait for one (`inline`):
   * for a query the producer's `replyTimeoutMs` cut to the time left before the deadline; for a
   * command the time left before its deadline, or `undefined`. Past it the wire rejects with
   * `TimeoutError`. Channel wires can ignore it (core times their replies out).
   */
  readonly replyTimeoutMs: number | undefined;
  /** Fires when the caller stops waiting (timeout, abort, close): cancel the send or request. */
  readonly signal: AbortSignal | undefined;
  /** The dispatch's delivery options, only ones the wire's `capabilities.delivery` lists; or `undefined`. */
  readonly delivery: DeliveryOptions | undefined;
}

/**
 * Where a wire with `replies: 'channel'` hands every reply it receives: the encoded reply, and the
 * correlation id the transport carried beside it, if any (ZeroMQ's correlation frame). Core decodes
 * it and settles the query it belongs to; a reply nobody waits for is dropped.
 */
export type ReplySink = (data: WireData, correlationId?: string) => void;

/** What core hands a wire when it opens it: where replies go and where background failures go. */
export interface WireChannel {
  /** The producer's codec (its `contentType`, e.g. for an HTTP header). */
  readonly codec: MessageCodec;
  /** Hand every received reply here (wires with `replies: 'channel'`). */
  readonly reply: ReplySink;
  /**
   * Report a background failure (a reply loop that failed, a connection error): it reaches the
   * producer's `onError` or logger. Never swallow one.
   */
  readonly report: (error: unknown, stage: 'reply' | 'connection' | 'close') => void;
  /**
   * Reject every query waiting for a reply (e.g. the reply channel was lost, so none can come);
   * they fail with `error` now instead of at their timeout.
   */
  readonly rejectPending: (error: unknown) => void;
}

/**
 * The part of a producer an adapter writes: move bytes. Core's `TransportProducer` does the rest —
 * refuse what is not a message, encode, attach the deadline, bound the message size, register and
 * match replies, build remote errors, count work in flight, close once.
 *
 * @example
 * class MyWire implements ProducerWire<string> {
 *   readonly capabilities = { replies: 'inline', confirmsHandling: true, durable: false } as const;
 *   async open() { return 'my://host'; }
 *   async send(out: OutgoingMessage) { return await client.request(out.data, { signal: out.signal }); }
 *   async close() { await client.close(); }
 * }
 */
export interface ProducerWire<Address = string> {
  readonly capabilities: WireCapabilities;
  /**
   * Connects (or prepares to: many transports connect lazily). Called once, by the producer's
   * `start()` or its first `produce`. Resolves with the address it reaches.
   */
  open(channel: WireChannel): Promise<Address>;
  /**
   * Sends one message. Resolves once the transport took it — for an `inline` wire, with the reply
   * data the remote answered (`undefined` for a command accepted without a body). Rejects with a
   * typed Switchyard error (`TransportError`, `BackpressureError`, `TimeoutError`, …).
   */
  send(outgoing: OutgoingMessage): Promise<WireData | undefined>;
  /**
   * Optional: tells the consumer that the caller of a query stopped waiting (timeout, abort) before
   * the reply came, so the remote handler's signal can fire. Best effort; never throws.
   */
  cancel?(outgoing: OutgoingMessage): void;
  /**
   * Releases connections. `drained` is false when sends were still in flight at `closeTimeoutMs`:
   * cut them off (they must reject with `ProducerClosedError`).
   */
  close(drained: boolean): Promise<void>;
}
