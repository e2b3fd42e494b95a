import type { OutgoingMessage, ProducerWire, WireCapabilities } from '../transport/producer-wire.ts';
import { TransportProducer, type TransportProducerOptions } from '../transport/transport-producer.ts';
import type { InMemoryTopic } from './in-memory-topic.ts';

/** Options of the {@link InMemoryTopicPublisher}. */
export interface InMemoryTopicPublisherOptions extends TransportProducerOptions {
  /** The topic to publish to. */
  readonly topic: InMemoryTopic;
}

/** The in-memory topic wire: hands each event to the topic's groups. */
class InMemoryTopicWire implements ProducerWire<string> {
  readonly capabilities: WireCapabilities = {
    replies: false,
    confirmsHandling: false,
    durable: false,
    fanOut: true,
  };
  readonly #topic: InMemoryTopic;

  constructor(topic: InMemoryTopic) {
    this.#topic = topic;
  }

  async open(): Promise<string> {
    return 'in-memory-topic';
  }

  send(outgoing: OutgoingMessage): Promise<undefined> {
    this.#topic.publish(outgoing.message.name, outgoing.data);
    return Promise.resolve(undefined);
  }

  async close(): Promise<void> {}
}

/**
 * Publishes events to an {@link InMemoryTopic}: every subscriber group listening gets each of them
 * (one consumer per group). A publish with no group listening resolves: nobody subscribed.
 *
 * @example
 * const topic = new InMemoryTopic();
 * eventRouter.route(UserRegistered).to(new InMemoryTopicPublisher({ topic }));
 */
export class InMemoryTopicPublisher extends TransportProducer<string> {
  constructor(options: InMemoryTopicPublisherOptions) {
    super('InMemoryTopicPublisher', 'in-memory-topic', new InMemoryTopicWire(options.topic), options);
  }
}
