import type { DispatchContext } from '../dispatch-context.ts';
import type { MessageBus } from '../message-bus.ts';
import { bindMethod, INVOKE_STRATEGY_PRIORITY } from './handle-command-strategy.ts';
import { AbstractPlugin } from './plugin.ts';

/**
 * Invoke strategy for event listener objects: `{ onEvent(event) }`. Attached to every EventBus by
 * default (`listenerObjects: false` to opt out).
 */
export class OnEventStrategy extends AbstractPlugin {
  attachToBus(bus: MessageBus): void {
    this.requireBus(bus, 'event');
    this.listen(bus, 'dispatch', bindOnEvent, INVOKE_STRATEGY_PRIORITY);
  }
}

function bindOnEvent(context: DispatchContext): void {
  const targets = context.targets;
  for (let index = 0; index < targets.length; index++) targets[index] = bindMethod(targets[index], 'onEvent');
}
