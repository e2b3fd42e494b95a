import type { Deferred } from './deferred.ts';
import type { AnyMessage } from './message.ts';

/** What a producer can do; checked when a route to it is registered. */
export interface ProducerCapabilities {
  /** The producer can carry queries and settle their Deferred with the remote reply. */
  readonly replies: boolean;
  /**
   * `produce` for a command/event resolves only after the remote handler finished (HTTP answers
   * after handling). When false it resolves once the transport took the message (queued, written).
   */
  readonly confirmsHandling: boolean;
  /** Messages survive a restart of either side (e.g. a Redis-backed queue). */
  readonly durable: boolean;
}

/**
 * The one interface every transport implements. Register a producer as a route target, or send a
 * whole bus through it with `MessageProducerPlugin`.
 *
 * @example
 * router.route(RegisterUser).to(new BullMQProducer({ queue: 'users', connection }));
 */
export interface MessageProducer {
  /**
   * Accept the message for delivery. Resolves once the transport has taken it (queued in Redis,
   * acknowledged by the remote, written to the socket); rejects if it could not — never drops
   * silently. For a query the bus passes a Deferred, which the producer settles with the remote
   * reply, a remote error, or a timeout/abort error.
   */
  produce(message: AnyMessage, deferred?: Deferred<unknown>): Promise<void>;
  /** Stop accepting, settle or flush what is in flight, release connections. */
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
