import type { DispatchContext } from '../dispatch-context.ts';
import type { MessageBus } from '../message-bus.ts';
import { Priority } from '../pipeline.ts';
import { AbstractPlugin } from './plugin.ts';

/** Resolves a service id to a handler; may be async (a container that builds lazily). */
export type ServiceResolver = (serviceId: string) => unknown;

/**
 * Resolves string targets lazily, at dispatch, through your function or container — handlers are
 * built only when a message needs them. A resolver that returns `undefined` leaves the id
 * unresolved, which the bus reports as a no-handler error.
 *
 * @example
 * commandBus.use(new ServiceLocatorPlugin((id) => container.get(id)));
 * router.route(RegisterUser).to('users.registerHandler');
 */
export class ServiceLocatorPlugin extends AbstractPlugin {
  readonly #resolve: ServiceResolver;

  constructor(resolver: ServiceResolver | { get(serviceId: string): unknown }) {
    super();
    this.#resolve = typeof resolver === 'function' ? resolver : (id) => resolver.get(id);
  }

  attachToBus(bus: MessageBus): void {
    this.listen(bus, 'dispatch', (context) => this.#locate(context), Priority.locateHandler);
  }

  #locate(context: DispatchContext): void | Promise<void> {
    if (context.busKind === 'event') {
      const targets = context.targets;
      const pending: Promise<void>[] = [];
      for (let index = 0; index < targets.length; index++) {
        const target = targets[index];
        if (typeof target !== 'string') continue;
        const resolved = this.#resolve(target);
        if (resolved instanceof Promise) {
          pending.push(
            resolved.then((handler) => {
              targets[index] = handler ?? target;
            }),
          );
        } else targets[index] = resolved ?? target;
      }
      if (pending.length > 0) return Promise.all(pending).then(() => undefined);
      return;
    }
    const target = context.target;
    if (typeof target !== 'string') return;
    const resolved = this.#resolve(target);
    if (resolved instanceof Promise) {
      return resolved.then((handler) => {
        context.target = handler ?? target;
      });
    }
    context.target = resolved ?? target;
  }
}
