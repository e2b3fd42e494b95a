import { type ConsumerSide, defineTransport, type TransportDefinition } from '@switchyard/core';
import type { RedisConnection } from './redis-connection.ts';
import { TopicPublisher, type TopicPublisherOptions } from './topic-publisher.ts';
import { TopicSubscriber, type TopicSubscriberOptions } from './topic-subscriber.ts';

/** The options both sides share. */
type Shared = 'topic' | 'prefix' | 'connection';

/** Options of {@link bullmqTopic}. */
export interface BullMQTopicOptions {
  /** The topic both sides use. */
  readonly topic: string;
  /** Key prefix; on Redis Cluster a hash tag such as `{switchyard}`. @default 'bull' */
  readonly prefix?: string | undefined;
  /** ioredis options, a `redis://` URL, or an ioredis instance, for both sides. @default { host: '127.0.0.1', port: 6379 } */
  readonly connection?: RedisConnection | undefined;
  /** More publisher options (`sendTimeoutMs`, `maxLength`). @default {} */
  readonly publisher?: Omit<TopicPublisherOptions, Shared> | undefined;
  /**
   * This process's subscription: its `group` (and `events`, `concurrency`, `attempts`, …). Without
   * it the process only publishes, and its own handlers of the topic's events run as local listeners
   * when it publishes.
   * @default undefined — publish only
   */
  readonly subscriber?: Omit<ConsumerSide<TopicSubscriberOptions>, Shared> | undefined;
}

/**
 * A durable topic on Redis, for `createSwitchyard`: route events to it and every subscriber group
 * gets each of them once; the publisher does not know the groups. A process subscribes by giving
 * `subscriber: { group }`; it then handles the events it has handlers for (or `events`).
 *
 * @example
 * const events = bullmqTopic({ topic: 'users', connection: 'redis://127.0.0.1:6379', subscriber: { group: 'billing' } });
 */
export function bullmqTopic(options: BullMQTopicOptions): TransportDefinition<false> {
  const shared = { topic: options.topic, prefix: options.prefix, connection: options.connection };
  const subscriber = options.subscriber;
  return defineTransport({
    kind: 'bullmq-topic',
    capabilities: { replies: false, confirmsHandling: false, durable: true, fanOut: true },
    producer: () => new TopicPublisher({ ...options.publisher, ...shared }),
    consumer: subscriber && ((wiring) => new TopicSubscriber({ ...wiring, ...subscriber, ...shared })),
  });
}
