import type { DispatchContext } from '../dispatch-context.ts';
import type { MessageBus } from '../message-bus.ts';
import { bindMethod, INVOKE_STRATEGY_PRIORITY } from './handle-command-strategy.ts';
import { AbstractPlugin } from './plugin.ts';

/**
 * Invoke strategy for query finder objects: `{ find(query) }` returning the result, or
 * `{ find(query, deferred) }` settling the deferred. Attached to every QueryBus by default
 * (`finderObjects: false` to opt out).
 */
export class FinderInvokeStrategy extends AbstractPlugin {
  attachToBus(bus: MessageBus): void {
    this.requireBus(bus, 'query');
    this.listen(bus, 'dispatch', bindFind, INVOKE_STRATEGY_PRIORITY);
  }
}

function bindFind(context: DispatchContext): void {
  context.target = bindMethod(context.target, 'find');
}
