import type { DispatchContext } from '../dispatch-context.ts';
import { ConfigurationError } from '../errors.ts';
import { receivedFrom } from '../message.ts';
import type { BusKind } from '../message-bus.ts';
import { isMessageProducer, type MessageProducer } from '../message-producer.ts';

/**
 * Where one message name goes: local targets (handlers, objects, service ids) and producers. A
 * message dispatched here goes to the producers when there are any; a message that arrived from a
 * transport goes to the local targets only — never back to a producer. That is what lets the
 * sending and the receiving process share one routing module.
 */
export interface RouteTargets {
  readonly locals: unknown[];
  readonly producers: MessageProducer[];
  /**
   * An event published here also goes to the local listeners: true when every producer of the route
   * fans out (a topic), unless the process receives the event through a subscription of its own.
   */
  localsOnPublish?: boolean;
}

/** Something routes can be keyed by: a name, or a definition carrying one. */
export type RouteKey = string | { readonly name: string; readonly kind?: string };

/** Reads and checks a route key's name (and kind, for a definition). */
export function routeName(key: RouteKey, kind: BusKind): string {
  const name = typeof key === 'string' ? key : key?.name;
  if (typeof name !== 'string' || name.length === 0) {
    throw new ConfigurationError('A route needs a non-empty message name or a message definition');
  }
  if (typeof key === 'object' && key.kind !== undefined && key.kind !== kind) {
    throw new ConfigurationError(`"${name}" is a ${key.kind}; it cannot be routed on a ${kind} router`);
  }
  return name;
}

/** Checks a target and adds it to `targets`; `single` allows one local and one producer at most. */
export function addTarget(
  targets: RouteTargets,
  target: unknown,
  name: string,
  kind: BusKind,
  single: boolean,
): void {
  if (isMessageProducer(target)) {
    if (kind !== 'event' && target.capabilities.fanOut === true) {
      throw new ConfigurationError(
        `${kind} "${name}" cannot be routed to a producer that publishes to a topic: a topic carries events only`,
      );
    }
    if (kind === 'query' && !target.capabilities.replies) {
      throw new ConfigurationError(
        `Query "${name}" cannot be routed to a producer that does not carry replies`,
      );
    }
    if (single && targets.producers.length > 0) {
      throw new ConfigurationError(`${kind} "${name}" is already routed to a producer`);
    }
    targets.producers.push(target);
    return;
  }
  const valid =
    typeof target === 'function' ||
    (typeof target === 'string' && target.length > 0) ||
    (typeof target === 'object' && target !== null);
  if (!valid) {
    throw new ConfigurationError(
      `Invalid target for "${name}": expected a function, a handler object, a service id or a MessageProducer`,
    );
  }
  if (single && targets.locals.length > 0) {
    throw new ConfigurationError(
      `${kind} "${name}" is already routed to a handler; a ${kind} has exactly one`,
    );
  }
  targets.locals.push(target);
}

/** Applies a matched route to the dispatch context (see {@link RouteTargets} for the rule). */
export function applyRoute(context: DispatchContext, targets: RouteTargets): void {
  const sends = targets.producers.length > 0 && receivedFrom(context.message) === undefined;
  const chosen = sends ? targets.producers : targets.locals;
  if (context.busKind === 'event') {
    for (const target of chosen) context.targets.push(target);
    if (sends && publishesToLocals(targets)) {
      for (const target of targets.locals) context.targets.push(target);
    }
  } else if (context.target === undefined && chosen.length > 0) {
    context.target = chosen[0];
  }
}

/** Whether an event published through `targets`' producers also runs its local listeners. */
function publishesToLocals(targets: RouteTargets): boolean {
  if (targets.locals.length === 0) return false;
  return (
    targets.localsOnPublish ?? targets.producers.every((producer) => producer.capabilities.fanOut === true)
  );
}
