import type { DispatchContext } from '../dispatch-context.ts';
import { ConfigurationError } from '../errors.ts';
import { receivedFrom } from '../message.ts';
import type { MessageBus } from '../message-bus.ts';
import { isMessageProducer, type MessageProducer } from '../message-producer.ts';
import { Priority } from '../pipeline.ts';
import { AbstractPlugin } from './plugin.ts';
import type { Router } from './router.ts';

/** Picks the producer for a message name, or `undefined` to handle it locally. */
export type ProducerSwitch = (messageName: string) => MessageProducer | undefined;

/**
 * prooph's async switch, generalised to a transport per message type. It decorates a router that
 * knows the local handlers: a locally dispatched message whose name the switch maps to a producer
 * goes to that producer; a message that arrived from a transport (or that the switch does not map)
 * goes through the decorated router to its local handler. The same module runs on both sides.
 *
 * @example
 * const local = new CommandRouter();
 * local.route(RegisterUser).to(registerUser);
 * commandBus.use(new AsyncSwitchRouter(local, { RegisterUser: bullmq, ChargeCard: http }));
 */
export class AsyncSwitchRouter extends AbstractPlugin {
  readonly #router: Router;
  readonly #switch: ProducerSwitch;

  /**
   * @param router the router with the local handlers.
   * @param producers one producer for every message, a map from name to producer, or a function.
   */
  constructor(
    router: Router,
    producers: MessageProducer | Readonly<Record<string, MessageProducer>> | ProducerSwitch,
  ) {
    super();
    this.#router = router;
    if (isMessageProducer(producers)) this.#switch = () => producers;
    else if (typeof producers === 'function') this.#switch = producers;
    else {
      const table = new Map(Object.entries(producers));
      for (const [name, producer] of table) {
        if (!isMessageProducer(producer))
          throw new ConfigurationError(`The switch entry for "${name}" is not a MessageProducer`);
      }
      this.#switch = (name) => table.get(name);
    }
  }

  attachToBus(bus: MessageBus): void {
    this.requireBus(bus, this.#router.busKind);
    this.listen(bus, 'dispatch', (context) => this.#route(context, bus), Priority.route);
  }

  #route(context: DispatchContext, bus: MessageBus): void {
    const name = context.messageName;
    const producer =
      name === undefined || receivedFrom(context.message) !== undefined ? undefined : this.#switch(name);
    if (producer === undefined) {
      this.#router.routeContext(context);
      return;
    }
    if (bus.kind === 'query' && !producer.capabilities.replies) {
      throw new ConfigurationError(`Query "${name}" is switched to a producer that does not carry replies`);
    }
    if (bus.kind === 'event') context.targets.push(producer);
    else context.target = producer;
  }
}
