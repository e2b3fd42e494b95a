import {
  type ConsumerSide,
  defineTransport,
  type TransportDefinition,
} from '../switchyard/transport-definition.ts';
import type { SubscriptionOptions } from '../transport/subscription.ts';
import { InMemoryConsumer, type InMemoryConsumerOptions } from './in-memory-consumer.ts';
import { InMemoryTopic } from './in-memory-topic.ts';
import { InMemoryTopicPublisher, type InMemoryTopicPublisherOptions } from './in-memory-topic-publisher.ts';

/** Options of {@link inMemoryTopic}. */
export interface InMemoryTopicOptions {
  /** The topic both sides use. @default a new InMemoryTopic */
  readonly topic?: InMemoryTopic | undefined;
  /** Options of its publisher. @default {} */
  readonly publisher?: Omit<InMemoryTopicPublisherOptions, 'topic'> | undefined;
  /**
   * This process's subscription: `group`, `events` (default: the events it handles), and consumer
   * options. Without it the process only publishes, and its handlers run as local listeners.
   * @default undefined — publish only
   */
  readonly subscriber?:
    | (SubscriptionOptions & Omit<ConsumerSide<InMemoryConsumerOptions>, 'channel'>)
    | undefined;
}

/**
 * An in-process topic by name, for `createSwitchyard`: the stand-in for a durable topic you deploy
 * later (`bullmqTopic`, `postgresTopic`), with the same roles — a process with `subscriber` gets
 * the events its group wants, one without only publishes.
 *
 * @example
 * const topic = new InMemoryTopic();
 * const billing = createSwitchyard({ transports: { events: inMemoryTopic({ topic, subscriber: { group: 'billing' } }) }, … });
 */
export function inMemoryTopic(options: InMemoryTopicOptions = {}): TransportDefinition<false> {
  const topic = options.topic ?? new InMemoryTopic();
  const subscriber = options.subscriber;
  return defineTransport({
    kind: 'in-memory-topic',
    capabilities: { replies: false, confirmsHandling: false, durable: false, fanOut: true },
    producer: () => new InMemoryTopicPublisher({ ...options.publisher, topic }),
    consumer:
      subscriber &&
      ((wiring) => {
        const { group, events, ...consumer } = subscriber;
        const channel = topic.group(group, events ?? wiring.messageNames ?? []);
        return new InMemoryConsumer({ ...wiring, ...consumer, channel, consumerGroup: group });
      }),
  });
}
