import {
  ConfigurationError,
  type ConsumerSide,
  defineTransport,
  type TransportDefinition,
} from '@switchyard/core';
import type { Endpoints } from './zeromq-endpoints.ts';
import { ZeroMQTopicPublisher, type ZeroMQTopicPublisherOptions } from './zeromq-topic-publisher.ts';
import { TOPIC_CAPABILITIES } from './zeromq-topic-publisher-wire.ts';
import { ZeroMQTopicSubscriber, type ZeroMQTopicSubscriberOptions } from './zeromq-topic-subscriber.ts';

/** A side's options where the topic's shared `endpoint` may stand in for its own. */
type EndpointOptional<Options> = Omit<Options, 'endpoint'> & {
  /** This side's endpoint, when it differs from the topic's `endpoint` (bind `tcp://0.0.0.0:5560`, connect to `tcp://events.internal:5560`). @default the topic's `endpoint` */
  readonly endpoint?: Endpoints | undefined;
};

/** Options of {@link zeromqTopic}: each side only where it is used. */
export interface ZeroMQTopicOptions {
  /**
   * The publisher's endpoint: where it binds and where subscribers connect, unless a side gives its
   * own `endpoint`.
   * @default undefined — then each side used needs its own `endpoint`
   */
  readonly endpoint?: Endpoints | undefined;
  /**
   * The publisher's options, for a process that publishes to the topic.
   * @default undefined — publishing to this topic throws `ConfigurationError`
   */
  readonly publisher?: EndpointOptional<ZeroMQTopicPublisherOptions> | undefined;
  /**
   * The subscriber's options (`group`, `events`, …) without the buses, for a process that
   * subscribes. With them, a process's handlers of the topic's events run when an event arrives;
   * without them, they are the publisher's local listeners and run when it publishes.
   * @default undefined — this process does not subscribe
   */
  readonly subscriber?: EndpointOptional<ConsumerSide<ZeroMQTopicSubscriberOptions>> | undefined;
}

/**
 * A ZeroMQ PUB/SUB topic by name, for `createSwitchyard`: **at most once**, events only. The
 * publishing process binds `endpoint`; each subscribing process connects to it under its `group`,
 * and receives the events it handles (or its `events`) while it is connected. Adding a subscriber
 * changes nothing on the publisher. A command or query routed to it is refused.
 *
 * @example
 * // publisher process: its own handlers of UserRegistered run when it publishes
 * const events = zeromqTopic({ endpoint: 'tcp://127.0.0.1:5560', publisher: {} });
 * // a subscriber process: its handlers of UserRegistered run on receipt
 * const events = zeromqTopic({ endpoint: 'tcp://127.0.0.1:5560', subscriber: { group: 'mailer' } });
 */
export function zeromqTopic(options: ZeroMQTopicOptions): TransportDefinition<false> {
  const { endpoint, publisher, subscriber } = options;
  const publisherEndpoint =
    publisher === undefined ? undefined : endpointOf(publisher.endpoint, endpoint, 'publisher');
  const subscriberEndpoint =
    subscriber === undefined ? undefined : endpointOf(subscriber.endpoint, endpoint, 'subscriber');
  return defineTransport({
    kind: 'zeromq topic',
    capabilities: TOPIC_CAPABILITIES,
    producer: publisher && (() => new ZeroMQTopicPublisher({ ...publisher, endpoint: publisherEndpoint! })),
    // The publisher binds: at `start()`, so subscribers can connect before the first event.
    eagerProducer: true,
    consumer:
      subscriber &&
      ((wiring) => new ZeroMQTopicSubscriber({ ...wiring, ...subscriber, endpoint: subscriberEndpoint! })),
  });
}

function endpointOf(own: Endpoints | undefined, shared: Endpoints | undefined, side: string): Endpoints {
  const chosen = own ?? shared;
  if (chosen === undefined) {
    throw new ConfigurationError(`zeromqTopic: give an endpoint, or the ${side} its own endpoint`);
  }
  return chosen;
}
