import type { DispatchContext } from '../dispatch-context.ts';
import { UnauthorizedError } from '../errors.ts';
import type { MessageBus } from '../message-bus.ts';
import { AbstractPlugin } from './plugin.ts';

/** Decides whether the caller may see a query's result; may be async. */
export type ResultAuthorizer = (
  messageName: string,
  result: unknown,
  context: DispatchContext,
) => boolean | Promise<boolean>;

/**
 * Query bus plugin that checks the result in `finalize`, after the finder answered: a refused result
 * is replaced by an error with code `SWITCHYARD_UNAUTHORIZED` and never reaches the caller.
 *
 * @example
 * queryBus.use(new FinalizeGuard((name, user) => user === undefined || user.tenant === tenantId));
 */
export class FinalizeGuard extends AbstractPlugin {
  readonly #isGranted: ResultAuthorizer;

  constructor(isGranted: ResultAuthorizer) {
    super();
    this.#isGranted = isGranted;
  }

  attachToBus(bus: MessageBus): void {
    this.requireBus(bus, 'query');
    // Run before other finalize listeners so they see the refusal.
    this.listen(bus, 'finalize', (context) => this.#guard(context), 1_000);
  }

  #guard(context: DispatchContext): void | Promise<void> {
    if (context.error !== undefined) return;
    const name = context.messageName ?? '';
    const granted = this.#isGranted(name, context.result, context);
    if (granted instanceof Promise) return granted.then((ok) => refuse(context, ok, name));
    refuse(context, granted, name);
  }
}

function refuse(context: DispatchContext, granted: boolean, name: string): void {
  if (granted) return;
  context.result = undefined;
  context.error = new UnauthorizedError(name);
  context.errorPhase = 'finalize';
}
