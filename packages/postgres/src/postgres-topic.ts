import { type ConsumerSide, defineTransport, type TransportDefinition } from '@switchyard/core';
import type { PgConnection } from './connection.ts';
import { identifiedDeadLetters } from './dead-letters.ts';
import {
  POSTGRES_TOPIC_CAPABILITIES,
  PostgresTopicPublisher,
  type PostgresTopicPublisherOptions,
} from './postgres-topic-publisher.ts';
import { topicQueueName } from './postgres-topic-sql.ts';
import { PostgresTopicSubscriber, type PostgresTopicSubscriberOptions } from './postgres-topic-subscriber.ts';

/** The options both sides share. */
type Shared = 'connection' | 'topic' | 'schema';

/** Options of {@link postgresTopic}. */
export interface PostgresTopicOptions {
  /** How to reach PostgreSQL, for both sides: a `postgres://` URL, a `pg` `PoolConfig` or a `pg.Pool`. */
  readonly connection: PgConnection;
  /** The topic both sides use: 1–90 characters, no `/` or whitespace. */
  readonly topic: string;
  /** The schema `migrate()` created the tables in. @default 'switchyard' */
  readonly schema?: string | undefined;
  /** More publisher options (`sendTimeoutMs`, `maxBatchSize`, `closeTimeoutMs`, `codec`). @default {} */
  readonly publisher?: Omit<PostgresTopicPublisherOptions, Shared> | undefined;
  /**
   * Makes this process a subscriber: its `group` (required), `events` (default: the events this
   * process handles over the topic), `concurrency`, `attempts`, `backoff`, lease and poll options.
   * Without it, the handlers of the topic's events in this process are local listeners run at publish.
   * @default undefined — publish only
   */
  readonly subscriber?: Omit<ConsumerSide<PostgresTopicSubscriberOptions>, Shared> | undefined;
}

/**
 * A durable PostgreSQL topic by name, for `createSwitchyard`: events published to it reach every
 * subscriber group once (subscribers of a group compete), retried and dead-lettered per group. A
 * process with `subscriber` options subscribes its group; every process can publish. Run
 * `migrate()` first.
 *
 * @example
 * const orders = postgresTopic({ connection: process.env.DATABASE_URL!, topic: 'orders', subscriber: { group: 'billing' } });
 */
export function postgresTopic(options: PostgresTopicOptions): TransportDefinition<false> {
  const shared = { connection: options.connection, topic: options.topic, schema: options.schema };
  const subscriber = options.subscriber;
  return defineTransport({
    kind: 'postgres-topic',
    capabilities: POSTGRES_TOPIC_CAPABILITIES,
    producer: () => new PostgresTopicPublisher({ ...options.publisher, ...shared }),
    consumer:
      subscriber === undefined
        ? undefined
        : (wiring) => new PostgresTopicSubscriber({ ...wiring, ...subscriber, ...shared }),
    // For app.deadLetters: the dead letters of this process's group.
    deadLetters:
      subscriber === undefined
        ? undefined
        : () =>
            identifiedDeadLetters({
              ...shared,
              queueName: topicQueueName(options.topic, subscriber.group),
              codec: subscriber.codec,
            }),
  });
}
