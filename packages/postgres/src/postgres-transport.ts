import { type ConsumerSide, defineTransport, type TransportDefinition } from '@switchyard/core';
import type { PgConnection } from './connection.ts';
import { identifiedDeadLetters } from './dead-letters.ts';
import { PostgresConsumer, type PostgresConsumerOptions } from './postgres-consumer.ts';
import { PostgresProducer, type PostgresProducerOptions } from './postgres-producer.ts';
import { POSTGRES_QUEUE_CAPABILITIES } from './postgres-wire.ts';
import { ReadyMessages } from './ready-messages.ts';

/** The options both sides share. */
type Shared = 'connection' | 'queueName' | 'schema';

/** Options of {@link postgresTransport}. */
export interface PostgresTransportOptions {
  /** How to reach PostgreSQL, for both sides: a `postgres://` URL, a `pg` `PoolConfig` or a `pg.Pool`. */
  readonly connection: PgConnection;
  /** The queue both sides use (several queues share the tables). */
  readonly queueName: string;
  /** The schema `migrate()` created the tables in. @default 'switchyard' */
  readonly schema?: string | undefined;
  /** More producer options (attempts, backoff, timeouts). @default {} */
  readonly producer?: Omit<PostgresProducerOptions, Shared> | undefined;
  /** More consumer options (concurrency, lease, `mode: 'tick'`, onError). @default {} */
  readonly consumer?: Omit<ConsumerSide<PostgresConsumerOptions>, Shared> | undefined;
}

/**
 * A PostgreSQL queue by name, for `createSwitchyard`: durable commands and events, queries answered
 * over `NOTIFY`. The connection and queue are all either side needs; each process builds only the
 * side it uses. Run `migrate()` first.
 *
 * @example
 * const durable = postgresTransport({ connection: process.env.DATABASE_URL!, queueName: 'users' });
 */
export function postgresTransport(options: PostgresTransportOptions): TransportDefinition<true> {
  const shared = { connection: options.connection, queueName: options.queueName, schema: options.schema };
  return defineTransport({
    kind: 'postgres',
    // The wire's, whose replies come by NOTIFY on a channel of the producer.
    capabilities: { ...POSTGRES_QUEUE_CAPABILITIES, replies: true },
    producer: () => new PostgresProducer({ ...options.producer, ...shared }),
    consumer: (wiring) => new PostgresConsumer({ ...wiring, ...options.consumer, ...shared }),
    // For app.deadLetters: the dead rows; and, as the dead-letter sink, the rows waiting.
    deadLetters: () => identifiedDeadLetters({ ...shared, codec: options.producer?.codec }),
    storedMessages: () => new ReadyMessages({ ...shared, codec: options.producer?.codec }),
  });
}
