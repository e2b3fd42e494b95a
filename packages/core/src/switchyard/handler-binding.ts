import type { AnyDefinition, CommandDefinition, EventDefinition, QueryDefinition } from '../definitions.ts';
import type { HandlerContext } from '../dispatch-options.ts';
import { ConfigurationError } from '../errors.ts';
import type { CommandMessage, EventMessage, QueryMessage } from '../message.ts';
import type { DeferredFinder } from '../plugins/deferred-finder.ts';

/** A local handler for the messages of definition `D`, typed by it (a finder must return `D`'s result). */
export type HandlerOf<D> =
  D extends QueryDefinition<infer P, infer R>
    ?
        | ((query: QueryMessage<P, R>, context: HandlerContext) => R | Promise<R>)
        | { find(query: QueryMessage<P, R>, context: HandlerContext): R | Promise<R> }
        | DeferredFinder<QueryMessage<P, R>, R>
    : D extends CommandDefinition<infer P>
      ?
          | ((command: CommandMessage<P>, context: HandlerContext) => unknown)
          | { handle(command: CommandMessage<P>, context: HandlerContext): unknown }
      : D extends EventDefinition<infer P>
        ?
            | ((event: EventMessage<P>, context: HandlerContext) => unknown)
            | { onEvent(event: EventMessage<P>, context: HandlerContext): unknown }
        : never;

/** A definition and its local handler, made by {@link handle}. */
export interface HandlerBinding {
  readonly definition: AnyDefinition;
  readonly handler: unknown;
}

/**
 * Binds a local handler to a message definition for `createSwitchyard({ handlers })`: a command
 * handler, an event listener (bind several to the same event), or a query finder that must return
 * the query's result type.
 *
 * @example
 * handlers: [
 *   handle(RegisterUser, async (command) => users.insert(command.payload)),
 *   handle(GetUser, async (query) => users.find(query.payload.userId) ?? null),
 * ]
 */
export function handle<D extends AnyDefinition>(definition: D, handler: HandlerOf<D>): HandlerBinding {
  if (typeof definition !== 'object' || definition === null || typeof definition.name !== 'string') {
    throw new ConfigurationError(
      'handle() needs a message definition (defineCommand, defineEvent, defineQuery)',
    );
  }
  const valid = typeof handler === 'function' || (typeof handler === 'object' && handler !== null);
  if (!valid) {
    throw new ConfigurationError(`handle(${definition.name}, …) needs a function or a handler object`);
  }
  return Object.freeze({ definition, handler });
}
