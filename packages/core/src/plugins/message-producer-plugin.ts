import type { DispatchContext } from '../dispatch-context.ts';
import { ConfigurationError } from '../errors.ts';
import { receivedFrom } from '../message.ts';
import type { MessageBus } from '../message-bus.ts';
import type { MessageProducer } from '../message-producer.ts';
import { Priority } from '../pipeline.ts';
import { AbstractPlugin } from './plugin.ts';

/** Priority of the producer plugin: after the routers, so it overrides what they chose. */
export const PRODUCER_PLUGIN_PRIORITY = Priority.route - 500;

/**
 * Sends every locally dispatched message of a bus through one producer — a whole bus made async in
 * one line. Messages that arrived from a transport still go to their local handlers, so the same bus
 * setup works in the receiving process.
 *
 * @example
 * commandBus.use(new MessageProducerPlugin(new BullMQProducer({ queueName: 'commands', connection })));
 */
export class MessageProducerPlugin extends AbstractPlugin {
  readonly #producer: MessageProducer;

  constructor(producer: MessageProducer) {
    super();
    this.#producer = producer;
  }

  attachToBus(bus: MessageBus): void {
    if (bus.kind === 'query' && !this.#producer.capabilities.replies) {
      throw new ConfigurationError(
        'MessageProducerPlugin on a query bus needs a producer that carries replies',
      );
    }
    this.listen(bus, 'dispatch', (context) => this.#route(context), PRODUCER_PLUGIN_PRIORITY);
  }

  #route(context: DispatchContext): void {
    if (receivedFrom(context.message) !== undefined) return;
    if (context.busKind === 'event') {
      context.targets.length = 0;
      context.targets.push(this.#producer);
    } else context.target = this.#producer;
  }
}
