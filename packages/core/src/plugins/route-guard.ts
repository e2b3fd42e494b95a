import type { DispatchContext } from '../dispatch-context.ts';
import { UnauthorizedError } from '../errors.ts';
import type { MessageBus } from '../message-bus.ts';
import { Priority } from '../pipeline.ts';
import { AbstractPlugin } from './plugin.ts';

/** Decides whether a message may be dispatched; may be async. */
export type RouteAuthorizer = (
  messageName: string,
  message: unknown,
  context: DispatchContext,
) => boolean | Promise<boolean>;

/** Priority of the route guard: after the routers, before handlers are located. */
export const ROUTE_GUARD_PRIORITY = Priority.route - 1_000;

/**
 * Refuses messages the authorizer does not grant, after routing and before any handler is located or
 * invoked. A refused dispatch rejects with code `SWITCHYARD_UNAUTHORIZED`.
 *
 * @example
 * commandBus.use(new RouteGuard((name, _msg) => currentUser().can(name)));
 */
export class RouteGuard extends AbstractPlugin {
  readonly #isGranted: RouteAuthorizer;

  constructor(isGranted: RouteAuthorizer) {
    super();
    this.#isGranted = isGranted;
  }

  attachToBus(bus: MessageBus): void {
    this.listen(bus, 'dispatch', (context) => this.#guard(context), ROUTE_GUARD_PRIORITY);
  }

  #guard(context: DispatchContext): void | Promise<void> {
    const name = context.messageName ?? '';
    const granted = this.#isGranted(name, context.message, context);
    if (granted instanceof Promise) return granted.then((ok) => deny(context, ok, name));
    deny(context, granted, name);
  }
}

function deny(context: DispatchContext, granted: boolean, name: string): void {
  if (granted) return;
  context.stopPropagation();
  throw new UnauthorizedError(name);
}
