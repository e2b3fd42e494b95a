import type { Deferred } from './deferred.ts';
import { type DeliveryOption, type DeliveryOptions, deliveryOptionsRefused } from './delivery-options.ts';
import type { DispatchContext } from './dispatch-context.ts';
import type { AnyMessage } from './message.ts';

/** What a producer can do; read by routers (replies) and asserted by the conformance suite. */
export interface ProducerCapabilities {
  /** The producer can carry queries and settle their Deferred with the remote reply. */
  readonly replies: boolean;
  /**
   * `produce` for a command/event resolves only after the remote handler finished, and rejects with
   * the remote error when it failed (HTTP). When false it resolves once the transport took the
   * message (queued, written), and a failing handler is reported on the receiving side (dead
   * letter, `onError`, logger) — never back to the dispatcher.
   */
  readonly confirmsHandling: boolean;
  /** Messages survive a restart of either side (e.g. a Redis-backed queue). */
  readonly durable: boolean;
  /**
   * The per-message delivery options it honours (`delayMs`, `priority`, `dedupeKey`); a dispatch
   * with another is refused with `SWITCHYARD_INVALID_CONFIGURATION`.
   * @default undefined — none
   */
  readonly delivery?: readonly DeliveryOption[] | undefined;
  /**
   * The producer publishes events to a topic: every subscriber group gets each event, and the
   * publisher does not know the groups. It carries events only (a command or query routed to it is
   * refused with `SWITCHYARD_INVALID_CONFIGURATION`), and the publisher's own local listeners of the
   * event still run when it publishes.
   * @default undefined — point to point
   */
  readonly fanOut?: boolean | undefined;
}

/** What the bus hands a producer with a message. */
export interface ProduceOptions {
  /** Queries: the deferred to settle with the remote reply (result, remote error, timeout). */
  readonly deferred?: Deferred<unknown> | undefined;
  /**
   * Commands and events dispatched with a timeout or signal: fires when the caller stops waiting,
   * so the producer can stop work nobody waits for. (A query's deferred settling says the same.)
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * The dispatch's per-message delivery options. A producer honours the ones its transport supports
   * and rejects with `SWITCHYARD_INVALID_CONFIGURATION` when given one it does not — never ignores it.
   */
  readonly delivery?: DeliveryOptions | undefined;
}

/**
 * The one interface every transport implements. Register a producer as a route target, or send a
 * whole bus through it with `MessageProducerPlugin`. Adapters do not implement it by hand: they
 * extend core's `TransportProducer` with a small wire, which keeps every transport's semantics the
 * same.
 *
 * The rule of the two channels: a failure to send rejects `produce`; the reply outcome (result,
 * remote error, reply timeout) settles the deferred. A producer resolves or rejects, never both
 * and never neither.
 *
 * @example
 * router.route(RegisterUser).to(new BullMQProducer({ queueName: 'users', connection }));
 */
export interface MessageProducer {
  /**
   * Accept the message for delivery. Resolves once the transport has taken it (queued in Redis,
   * written to the socket) — or, when `capabilities.confirmsHandling`, once the remote handler
   * finished; rejects if it could not — never drops silently.
   */
  produce(message: AnyMessage, options?: ProduceOptions): Promise<void>;
  /** Stop accepting, settle or flush what is in flight, release connections. Once; bounded. */
  close(): Promise<void>;
  /** What it can do. */
  readonly capabilities: ProducerCapabilities;
}

/** True for an object implementing {@link MessageProducer}. */
export function isMessageProducer(value: unknown): value is MessageProducer {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<MessageProducer>;
  return (
    typeof candidate.produce === 'function' &&
    typeof candidate.close === 'function' &&
    typeof candidate.capabilities === 'object' &&
    candidate.capabilities !== null
  );
}

/**
 * The options a command or event dispatch hands its producer: its signal, when it can be cut short,
 * and its delivery options.
 */
export function produceOptions(context: DispatchContext): ProduceOptions | undefined {
  const delivery = context.delivery;
  if (delivery !== undefined) return context.raceable ? { signal: context.signal, delivery } : { delivery };
  return context.raceable ? { signal: context.signal } : undefined;
}

/** Throws when a dispatch with delivery options reaches a local handler, which cannot honour them. */
export function refuseDeliveryOptionsLocally(context: DispatchContext): void {
  if (context.delivery === undefined) return;
  throw deliveryOptionsRefused(context.delivery, [], context.messageName ?? 'a message', 'a local handler');
}
