import type { DispatchContext } from '../dispatch-context.ts';
import type { MessageBus } from '../message-bus.ts';
import { Priority } from '../pipeline.ts';
import { AbstractPlugin } from './plugin.ts';

/** Priority of the invoke strategies: after locating handlers, before invoking them. */
export const INVOKE_STRATEGY_PRIORITY = Priority.invokeHandler + 1_000;

/** Something with a method of the given name. */
function hasMethod(
  target: unknown,
  method: string,
): target is Record<string, (...args: unknown[]) => unknown> {
  return (
    typeof target === 'object' &&
    target !== null &&
    typeof (target as Record<string, unknown>)[method] === 'function' &&
    // A MessageProducer is invoked by the bus itself, never through a strategy.
    typeof (target as { produce?: unknown }).produce !== 'function'
  );
}

/** Turns a `{ [method](…) }` object into a bound function, or returns the target unchanged. */
export function bindMethod(target: unknown, method: string): unknown {
  if (!hasMethod(target, method)) return target;
  const fn = target[method]!;
  return (message: unknown, context: unknown) => fn.call(target, message, context);
}

/**
 * Invoke strategy for command handler objects: `{ handle(command) }`. Attached to every CommandBus by
 * default (`handlerObjects: false` to opt out).
 */
export class HandleCommandStrategy extends AbstractPlugin {
  attachToBus(bus: MessageBus): void {
    this.requireBus(bus, 'command');
    this.listen(bus, 'dispatch', bindHandle, INVOKE_STRATEGY_PRIORITY);
  }
}

function bindHandle(context: DispatchContext): void {
  context.target = bindMethod(context.target, 'handle');
}
