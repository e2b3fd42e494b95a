import {
  type ConsumerSide,
  defineTransport,
  type TransportDefinition,
  withLetterIds,
} from '@switchyard/core';
import { BullMQConsumer, type BullMQConsumerOptions } from './bullmq-consumer.ts';
import { BullMQProducer, type BullMQProducerOptions } from './bullmq-producer.ts';
import { DeadLetters } from './dead-letters.ts';
import type { RedisConnection } from './redis-connection.ts';
import { WaitingJobs } from './waiting-jobs.ts';

/** The options both sides share. */
type Shared = 'queueName' | 'prefix' | 'connection';

/** Options of {@link bullmqTransport}. */
export interface BullMQTransportOptions {
  /** The BullMQ queue both sides use. */
  readonly queueName: string;
  /** BullMQ key prefix; on Redis Cluster a hash tag such as `{switchyard}`. @default 'bull' */
  readonly prefix?: string | undefined;
  /** ioredis options, a `redis://` URL, or an ioredis instance, for both sides. @default { host: '127.0.0.1', port: 6379 } */
  readonly connection?: RedisConnection | undefined;
  /** More producer options (attempts, backoff, timeouts). @default {} */
  readonly producer?: Omit<BullMQProducerOptions, Shared | 'queue'> | undefined;
  /** More consumer options (concurrency, lock duration, onError). @default {} */
  readonly consumer?: Omit<ConsumerSide<BullMQConsumerOptions>, Shared> | undefined;
}

/**
 * A BullMQ queue by name, for `createSwitchyard`: durable commands and events, queries over a reply
 * channel. The queue and connection are all either side needs; each process builds only the side it
 * uses (a sender opens no Worker, a service opens no Queue unless it sends too).
 *
 * @example
 * const durable = bullmqTransport({ queueName: 'users', connection: 'redis://127.0.0.1:6379', consumer: { concurrency: 8 } });
 */
export function bullmqTransport(options: BullMQTransportOptions): TransportDefinition<true> {
  const shared = { queueName: options.queueName, prefix: options.prefix, connection: options.connection };
  return defineTransport({
    kind: 'bullmq',
    capabilities: {
      replies: true,
      confirmsHandling: false,
      durable: true,
      delivery: ['delayMs', 'priority', 'dedupeKey'],
    },
    producer: () => new BullMQProducer({ ...options.producer, ...shared }),
    consumer: (wiring) => new BullMQConsumer({ ...wiring, ...options.consumer, ...shared }),
    // For app.deadLetters: the failed set; and, as the dead-letter sink, the jobs waiting.
    deadLetters: () =>
      withLetterIds(new DeadLetters({ ...shared, codec: options.producer?.codec }), (letter) => letter.jobId),
    storedMessages: () => new WaitingJobs({ ...shared, codec: options.producer?.codec }),
  });
}
