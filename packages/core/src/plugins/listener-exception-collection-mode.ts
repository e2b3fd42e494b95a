import type { DispatchContext } from '../dispatch-context.ts';
import type { MessageBus } from '../message-bus.ts';
import { Priority } from '../pipeline.ts';
import { AbstractPlugin } from './plugin.ts';

/**
 * Event bus plugin: every listener runs even if some fail; the dispatch then rejects with one
 * `ListenerErrors` (code `SWITCHYARD_LISTENER_ERRORS`) whose `errors` holds each failure in order.
 *
 * @example
 * eventBus.use(new ListenerExceptionCollectionMode());
 */
export class ListenerExceptionCollectionMode extends AbstractPlugin {
  attachToBus(bus: MessageBus): void {
    this.requireBus(bus, 'event');
    this.listen(bus, 'dispatch', enableCollection, Priority.initialize);
  }
}

function enableCollection(context: DispatchContext): void {
  context.collectListenerErrors = true;
}
