import { ConfigurationError, TransportProducer, type TransportProducerOptions } from '@switchyard/core';
import type { BackoffOptions, KeepJobs, Queue } from 'bullmq';
import type { BullMQAddress } from './bullmq-address.ts';
import { BullMQWire } from './bullmq-wire.ts';
import type { RedisConnection } from './redis-connection.ts';

/**
 * Options of the {@link BullMQProducer}: `queueName` (with `connection`) or an existing `queue`,
 * plus core's producer options — `replyTimeoutMs` (default 30_000), `maxMessageBytes` (16 MiB),
 * `closeTimeoutMs` (10_000), `codec` (JSON), `onError`, `logger`.
 */
export interface BullMQProducerOptions extends TransportProducerOptions {
  /** The BullMQ queue messages are added to; the consumer reads the same one. Required unless `queue` is given. */
  readonly queueName?: string | undefined;
  /** BullMQ key prefix; on Redis Cluster a hash tag such as `{switchyard}`. @default 'bull' */
  readonly prefix?: string | undefined;
  /**
   * ioredis options, a `redis://` URL, or an existing ioredis `Redis`/`Cluster`. From options or a
   * URL, `start()` opens a fail-fast connection (`enableOfflineQueue: false`, 2 s connect timeout,
   * one retry per command, reconnects at most a second apart). An instance is used as is and never
   * closed by the producer (give it `enableOfflineQueue: false` too). The reply subscriber is a
   * fail-fast connection of its own either way.
   * @default { host: '127.0.0.1', port: 6379 }
   */
  readonly connection?: RedisConnection | undefined;
  /** An existing BullMQ `Queue` (its name and prefix win); not closed by the producer. @default undefined — `start()` creates one */
  readonly queue?: Queue | undefined;
  /** Tries per command/event job, the first included. Queries are tried once. @default 3 */
  readonly attempts?: number | undefined;
  /** Wait between tries: ms, or BullMQ's `{ type: 'fixed' | 'exponential', delay }`. @default { type: 'exponential', delay: 1_000 } */
  readonly backoff?: number | BackoffOptions | undefined;
  /** Delay before a command/event job can run, in ms. @default 0 */
  readonly delay?: number | undefined;
  /** BullMQ priority, 1 (highest) to 2_097_152; 0 for none. @default 0 */
  readonly priority?: number | undefined;
  /**
   * Retention of completed command/event jobs — also the window in which re-sending a message is a
   * no-op (job id = message id). Completed query jobs are always removed.
   * @default { age: 3_600, count: 10_000 }
   */
  readonly removeOnComplete?: boolean | number | KeepJobs | undefined;
  /** Retention of failed jobs, the dead letters (see `DeadLetters`). @default false — kept until purged */
  readonly removeOnFail?: boolean | number | KeepJobs | undefined;
  /**
   * Longest wait for Redis to take a batch of jobs — or, in `start()`, to connect and subscribe the
   * reply channel — before the dispatches (or `start()`) reject with `SWITCHYARD_TRANSPORT_ERROR`.
   * A job may have been queued all the same: resending the same message cannot queue it twice.
   * The same option and default as ZeroMQ's.
   * @default 5_000
   */
  readonly sendTimeoutMs?: number | undefined;
  /** Most messages in one `addBulk`; a larger same-tick burst goes in several batches at once. @default 100 */
  readonly maxBatchSize?: number | undefined;
  /**
   * Most messages carried by one job. Above 1, the messages of a batch (dispatched in the same tick)
   * share jobs — packs — so Redis runs BullMQ's scripts once per pack instead of once per message;
   * a message with per-message delivery options, or a dead letter handed to this producer as a
   * sink, keeps a job of its own. The consumer handles a pack's messages one after another
   * and moves a message that fails to a job of its own, which gets the usual retries (see the
   * README, "Packing messages into jobs"). Packed messages are not de-duplicated by job id, and a
   * packed query whose caller gave up still runs unless its deadline passed.
   * @default 1 — one job per message
   */
  readonly messagesPerJob?: number | undefined;
}

/**
 * Core's producer on BullMQ: commands and events become durable jobs (retried with backoff, never
 * queued twice while kept: job id = message id), queries become jobs whose reply comes back on a
 * Redis pub/sub channel of this producer. Adds issued in one tick go to Redis as one `addBulk`.
 * Nothing connects before `start()` (or the first `produce`). Redis errors go to `onError`/`logger`;
 * a dispatch Redis did not take rejects with `SWITCHYARD_TRANSPORT_ERROR`.
 *
 * @example
 * const producer = new BullMQProducer({ queueName: 'billing', connection: 'redis://127.0.0.1:6379' });
 * await producer.start();
 * commandRouter.route(ChargeCard).to(producer);
 * // …
 * await producer.close();
 */
export class BullMQProducer extends TransportProducer<BullMQAddress> {
  readonly #wire: BullMQWire;

  constructor(options: BullMQProducerOptions) {
    const wire = new BullMQWire(options);
    super('BullMQProducer', 'bullmq', wire, options);
    this.#wire = wire;
  }

  /** The BullMQ queue jobs go to (the one passed in, or the one `start()` created). */
  get queue(): Queue {
    const queue = this.#wire.queue;
    if (queue === undefined) throw new ConfigurationError('BullMQProducer: await producer.start() first');
    return queue;
  }
}
