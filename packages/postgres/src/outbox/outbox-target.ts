import {
  type AnyMessage,
  ConfigurationError,
  isMessageProducer,
  type MessageProducer,
  RECEIVED_FROM,
  withMetadata,
} from '@switchyard/core';

/** A bus the relay can hand messages to: its local handlers run them (an `EventBus` or `CommandBus`). */
export interface OutboxBus {
  readonly kind: 'command' | 'event' | 'query';
  dispatch(message: AnyMessage): Promise<unknown>;
}

/**
 * Where the relay forwards an outbox message: a real producer (BullMQ, HTTP, ZeroMQ, Postgres
 * queue, in-memory), or a bus whose local handlers run it. A message handed to a bus is marked as
 * received (`switchyard.receivedFrom: 'outbox'`), so its routers send it to the local handlers and
 * never back into the outbox.
 */
export type OutboxTarget = MessageProducer | OutboxBus;

/** The targets of a relay, by the name the outbox stores with each message. */
export type OutboxTargets = Readonly<Record<string, OutboxTarget>>;

/** Checks a targets map; throws `ConfigurationError` for a bad name or target. */
export function checkTargets(component: string, targets: unknown): OutboxTargets {
  if (typeof targets !== 'object' || targets === null) {
    throw new ConfigurationError(`${component}: targets must be an object of { name: producer or bus }`);
  }
  for (const [name, target] of Object.entries(targets)) {
    checkTargetName(component, name);
    if (!isMessageProducer(target) && !isBus(target)) {
      throw new ConfigurationError(
        `${component}: target "${name}" is neither a MessageProducer nor a bus with dispatch()`,
      );
    }
  }
  return targets as OutboxTargets;
}

/** Checks a target name: a non-empty string of at most 200 characters. */
export function checkTargetName(component: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
    throw new ConfigurationError(`${component}: a target name must be a non-empty string (≤ 200 characters)`);
  }
  return name;
}

function isBus(value: unknown): value is OutboxBus {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as OutboxBus).dispatch === 'function' &&
    typeof (value as OutboxBus).kind === 'string'
  );
}

/** Hands `message` to `target`: `produce` for a producer, `dispatch` (marked as received) for a bus. */
export function deliver(target: OutboxTarget, message: AnyMessage): Promise<unknown> {
  if (isMessageProducer(target)) return target.produce(message);
  return target.dispatch(withMetadata(message, { [RECEIVED_FROM]: 'outbox' }));
}
