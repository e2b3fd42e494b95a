import { AsyncLocalStorage } from 'node:async_hooks';
import { type AnyMessage, receivedFrom, withMetadata } from '../message.ts';

/**
 * Metadata key of the id shared by every message of one conversation: the root message's id (or the
 * `correlationId` the root already carried), set by the bus on each message dispatched while another
 * is handled — locally or in another process, on every transport.
 */
export const CORRELATION_ID = 'correlationId';

/** Metadata key of the id of the message whose handler dispatched this one (its direct cause). */
export const CAUSATION_ID = 'causationId';

/** The message whose handler runs in the current async context (kept across `await`). */
const scope = new AsyncLocalStorage<AnyMessage>();

/**
 * Whether buses without an explicit `correlation` option call their handlers in the scope: off in a
 * purely in-process app (a handler call then costs no `AsyncLocalStorage.run`), on from the moment
 * the process creates a transport producer or consumer or installs instrumentation — where messages
 * leave the process, and correlation is what ties them together.
 */
let automatic = false;

/** Turns the automatic handling scope on for this process (see {@link callHandler}); idempotent. */
export function enableHandlingScope(): void {
  automatic = true;
}

/**
 * The message being handled in the current async context — the one whose handler (or listener,
 * finder) is running, across `await` — or `undefined` outside any handler.
 *
 * @example
 * router.route(PlaceOrder).to(async () => log.info('handling', handledMessage()?.id));
 */
export function handledMessage(): AnyMessage | undefined {
  return scope.getStore();
}

/** The correlation id a message carries (see {@link CORRELATION_ID}), or `undefined`. */
export function correlationIdOf(message: AnyMessage): string | undefined {
  return stringValue(message, CORRELATION_ID);
}

/** The causation id a message carries (see {@link CAUSATION_ID}), or `undefined`. */
export function causationIdOf(message: AnyMessage): string | undefined {
  return stringValue(message, CAUSATION_ID);
}

/** A string metadata value; never trusts the shape (a hand-made message may lack `metadata`). */
function stringValue(message: AnyMessage, key: string): string | undefined {
  const metadata = message.metadata as AnyMessage['metadata'] | undefined;
  const value = typeof metadata === 'object' && metadata !== null ? metadata[key] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/**
 * The message as dispatched while `parent` is handled: with `correlationId` (the parent's, or the
 * parent's id when it is the root) and `causationId` (the parent's id) where it has none. The same
 * object when nothing is missing, when it arrived from a transport (it keeps what it carried) or
 * when it is the parent itself (dispatched again).
 */
export function causedBy<M extends AnyMessage>(message: M, parent: AnyMessage): M {
  if (message.id === parent.id || receivedFrom(message) !== undefined) return message;
  const correlation = correlationIdOf(message);
  const causation = causationIdOf(message);
  if (correlation !== undefined && causation !== undefined) return message;
  return withMetadata(message, {
    [CORRELATION_ID]: correlation ?? correlationIdOf(parent) ?? parent.id,
    [CAUSATION_ID]: causation ?? parent.id,
  });
}

/**
 * Calls a local handler, `handler(message, context)`, with `message` as the handled message of
 * everything it starts, across `await` (see {@link handledMessage}): what it dispatches carries
 * `correlationId` and `causationId`. Only local handler calls enter the scope — a dispatch that goes
 * to a producer does not need one — because entering it is the expensive part (an
 * `AsyncLocalStorage.run`, 0.4–0.8 µs on Node 24). `enabled` is the bus's `correlation` option:
 * `undefined` follows {@link enableHandlingScope}.
 */
export function callHandler<C, R>(
  handler: (message: never, context: C) => R,
  message: unknown,
  context: C,
  enabled: boolean | undefined,
): R {
  const call = handler as (message: unknown, context: C) => R;
  if (!(enabled ?? automatic) || typeof message !== 'object' || message === null)
    return call(message, context);
  return scope.run(message as AnyMessage, call, message, context);
}
