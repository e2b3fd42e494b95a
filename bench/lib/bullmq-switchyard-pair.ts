import * as bullmq from '@switchyard/bullmq';
import { JOB_OPTIONS } from './bullmq-job-options.ts';
import { REDIS_URL } from './redis.ts';
import { receivingBuses, sendingBuses } from './transport-fixtures.ts';

/** The adapter classes a pair is built from: the package's, or a copy under test (A/B harnesses). */
export type BullMQLib = Pick<typeof bullmq, 'BullMQConsumer' | 'BullMQProducer'>;

/** Worker concurrency of every BullMQ row, Switchyard's consumer and the raw `Worker` alike. */
export const BULLMQ_CONCURRENCY = 50;

/** Messages per job of the rows that pack them (the producer's `messagesPerJob`): its `maxBatchSize`. */
export const BULLMQ_PACK = 100;

/**
 * Switchyard's side of the BullMQ rows, as the bench and its profile harnesses all build it: a
 * `BullMQConsumer` ({@link BULLMQ_CONCURRENCY}) and a `BullMQProducer` (the rows' job options,
 * `messagesPerJob` — default 1) on the queue `queueName` under `prefix`, the receiving buses that
 * count and answer, and the sending buses routed to the producer. Nothing is started.
 */
export function switchyardBullMQPair(
  queueName: 'commands' | 'queries',
  prefix: string,
  lib: BullMQLib = bullmq,
  messagesPerJob = 1,
) {
  const receiver = receivingBuses();
  const consumer = new lib.BullMQConsumer({
    queueName,
    prefix,
    connection: REDIS_URL,
    concurrency: BULLMQ_CONCURRENCY,
    ...(queueName === 'commands' ? { commandBus: receiver.commandBus } : { queryBus: receiver.queryBus }),
  });
  const producer = new lib.BullMQProducer({
    queueName,
    prefix,
    connection: REDIS_URL,
    messagesPerJob,
    ...JOB_OPTIONS,
  });
  return { receiver, consumer, producer, ...sendingBuses(producer) };
}
