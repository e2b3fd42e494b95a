import type { CommandDefinition } from '../definitions.ts';
import type { HandlerContext } from '../dispatch-options.ts';
import type { AnyMessage, CommandMessage } from '../message.ts';
import type { MessageProducer } from '../message-producer.ts';
import { addTarget } from './route-targets.ts';
import { Router } from './router.ts';

/** A command target: a function, a `{ handle }` object, a service id or a producer. */
export type CommandHandler<M = AnyMessage> =
  | ((command: M, context: HandlerContext) => unknown)
  | { handle(command: M, context: HandlerContext): unknown }
  | string
  | MessageProducer;

/** The second half of `router.route(x).to(target)`. */
export interface CommandRoute<M> {
  /**
   * Routes the command to `target`. Call once with a local handler and/or once with a producer: the
   * producer carries locally dispatched commands, the handler runs those that arrive from a transport.
   */
  to(target: CommandHandler<M>): CommandRoute<M>;
}

/**
 * Routes each command name to exactly one handler (and, optionally, a producer that carries it).
 *
 * @example
 * const router = new CommandRouter();
 * router.route(RegisterUser).to(registerUserHandler);
 * router.route(SendInvoice).to(bullmqProducer); // runs in the process that consumes the queue
 * commandBus.use(router);
 */
export class CommandRouter extends Router {
  readonly busKind = 'command';

  route<P>(definition: CommandDefinition<P>): CommandRoute<CommandMessage<P>>;
  route(name: string): CommandRoute<AnyMessage>;
  route(key: string | CommandDefinition<unknown>): CommandRoute<never> {
    const name = this.open(key);
    const route: CommandRoute<never> = {
      to: (target) => {
        addTarget(this.targetsOf(name), target, name, 'command', true);
        return route;
      },
    };
    return route;
  }
}
