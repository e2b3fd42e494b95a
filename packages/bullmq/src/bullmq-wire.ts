import { randomUUID } from 'node:crypto';
import {
  type AnyMessage,
  ConfigurationError,
  checkOption,
  DEAD_LETTER,
  type DeliveryOptions,
  errorMessage,
  type OutgoingMessage,
  type ProducerWire,
  TransportError,
  type WireCapabilities,
  type WireChannel,
} from '@switchyard/core';
import { type JobsOptions, Queue } from 'bullmq';
import { BulkAdder } from './bulk-adder.ts';
import type { BullMQAddress } from './bullmq-address.ts';
import type { BullMQProducerOptions } from './bullmq-producer.ts';
import { toJobData } from './job-data.ts';
import { toJobId } from './job-id.ts';
import {
  closeRedis,
  FAIL_FAST,
  isRedisClient,
  type OpenedRedis,
  openRedis,
  type RedisConnection,
  whenReady,
} from './redis-connection.ts';
import { ReplySubscriber } from './reply-subscriber.ts';
import { within } from './within.ts';

/** What `open()` made, released by `close()`. */
interface Opened {
  readonly queue: Queue;
  /** The connection opened for our own queue (none for a queue passed in). */
  readonly redis: OpenedRedis | undefined;
  readonly replies: ReplySubscriber;
  readonly adder: BulkAdder;
  readonly channel: WireChannel;
  readonly onError: (error: Error) => void;
}

/**
 * The wire under the `BullMQProducer`: each message becomes a job (job id = message id, see
 * `toJobId`) added through a {@link BulkAdder}; a query's job names the producer's pub/sub reply
 * channel ({@link ReplySubscriber}). `open()` connects the queue and subscribes the reply channel.
 */
export class BullMQWire implements ProducerWire<BullMQAddress> {
  readonly capabilities: WireCapabilities = {
    replies: 'channel',
    confirmsHandling: false,
    durable: true,
    delivery: ['delayMs', 'priority', 'dedupeKey'],
  };
  readonly #options: BullMQProducerOptions;
  /** Commands and events: retried with backoff, kept a while once completed. */
  readonly #durableJob: JobsOptions;
  /** Queries: tried once (a second answer would reach nobody), removed once completed. */
  readonly #queryJob: JobsOptions;
  /** Most messages per job: above 1, messages without delivery options of one batch share jobs. */
  readonly #messagesPerJob: number;
  #opened: Opened | undefined;

  constructor(options: BullMQProducerOptions) {
    const { queueName, priority = 0 } = options;
    if (options.queue === undefined && (typeof queueName !== 'string' || !/^[^:]+$/.test(queueName))) {
      throw new ConfigurationError(
        `BullMQProducer: give a queueName without ":" or a queue, got ${queueName}`,
      );
    }
    if (!Number.isInteger(priority) || priority < 0 || priority > 2_097_152) {
      throw new ConfigurationError(
        `BullMQProducer: priority must be an integer from 0 to 2097152, got ${priority}`,
      );
    }
    const attempts = checkOption('BullMQProducer', 'attempts', options.attempts, 3, 'whole');
    checkOption('BullMQProducer', 'maxBatchSize', options.maxBatchSize, 100, 'whole');
    this.#messagesPerJob = checkOption(
      'BullMQProducer',
      'messagesPerJob',
      options.messagesPerJob,
      1,
      'whole',
    );
    checkOption('BullMQProducer', 'sendTimeoutMs', options.sendTimeoutMs, 5_000, 'positive');
    const delay = checkOption('BullMQProducer', 'delay', options.delay, 0, 'non-negative');
    this.#options = options;
    const kept = { removeOnFail: options.removeOnFail ?? false, ...(priority === 0 ? {} : { priority }) };
    this.#durableJob = {
      ...kept,
      attempts,
      backoff: options.backoff ?? { type: 'exponential', delay: 1_000 },
      removeOnComplete: options.removeOnComplete ?? { age: 3_600, count: 10_000 },
      ...(delay === 0 ? {} : { delay }),
    };
    this.#queryJob = { ...kept, attempts: 1, removeOnComplete: true };
  }

  /** The queue jobs go to: the one passed in, else the one `open()` made. */
  get queue(): Queue | undefined {
    return this.#opened?.queue ?? this.#options.queue;
  }

  async open(channel: WireChannel): Promise<BullMQAddress> {
    const { queue: given, prefix, sendTimeoutMs = 5_000 } = this.#options;
    const connection = (given?.opts.connection as RedisConnection | undefined) ??
      this.#options.connection ?? { host: '127.0.0.1', port: 6379 };
    const onError = (error: Error): void => channel.report(error, 'connection');
    const redis = given ? undefined : openRedis(connection, FAIL_FAST);
    if (redis !== undefined) {
      // Ready before BullMQ sees the client: BullMQ 6.7 takes a Cluster in status "connect" (slots
      // not loaded yet) for ready and sends INFO at once, which a client without an offline queue
      // refuses ("Cluster isn't ready and enableOfflineQueue options is false").
      redis.client.on('error', onError); // the queue reports them once it exists
      try {
        await whenReady(redis.client, sendTimeoutMs); // fails fast when refused
      } catch (cause) {
        await closeRedis(redis);
        throw unreachable(this.#options.queueName!, cause);
      } finally {
        redis.client.off('error', onError);
      }
    }
    const queue =
      given ??
      new Queue(this.#options.queueName!, {
        connection: redis!.client,
        ...(prefix === undefined ? {} : { prefix }),
      });
    queue.on('error', onError);
    const address = { queueName: queue.name, prefix: queue.opts.prefix ?? 'bull' };
    const replies = new ReplySubscriber(`${address.prefix}:${queue.name}:replies:${randomUUID()}`);
    const own = redis?.client ?? (isRedisClient(connection) ? connection : undefined);
    const { maxBatchSize = 100 } = this.#options;
    const adder = new BulkAdder(queue, maxBatchSize, this.#messagesPerJob, sendTimeoutMs, own);
    const opened: Opened = { queue, redis, replies, adder, channel, onError };
    try {
      await within(queue.waitUntilReady(), sendTimeoutMs, 'Redis did not become ready');
      await replies.open(connection, channel, sendTimeoutMs);
    } catch (cause) {
      await this.#release(opened);
      throw unreachable(queue.name, cause);
    }
    this.#opened = opened;
    return address;
  }

  send({ message, data, expectsReply, signal, delivery }: OutgoingMessage): Promise<undefined> {
    const { replies, adder } = this.#opened!;
    if (expectsReply && replies.status !== 'ready') {
      return Promise.reject(
        new TransportError(
          `The BullMQ reply subscriber is ${replies.status}: "${message.name}" could get no reply`,
        ),
      );
    }
    const options = message.kind === 'query' ? this.#queryJob : this.#durableJob;
    const job = {
      name: message.name,
      data: toJobData(data, expectsReply ? replies.channelName : undefined),
      opts: {
        ...options,
        jobId: toJobId(message.id),
        ...(delivery === undefined ? undefined : jobDelivery(delivery)),
      },
      packOptions: this.#packs(message, delivery) ? options : undefined,
    };
    return adder.add(job, signal, expectsReply);
  }

  /**
   * Whether `message` may share a job: packing is on, it has no delivery options of its own, and it
   * is not a dead letter handed to this producer as a sink — each of those keeps a job (id = message
   * id) that `WaitingJobs` lists, replays and removes by message id.
   */
  #packs(message: AnyMessage, delivery: DeliveryOptions | undefined): boolean {
    return (
      this.#messagesPerJob > 1 && delivery === undefined && !Object.hasOwn(message.metadata, DEAD_LETTER)
    );
  }

  /**
   * A query whose caller stopped waiting (abort, timeout, close): if no worker took its job yet, the
   * job is removed and never runs. A job a worker already runs is locked, so BullMQ leaves it (and
   * answers 0); its handler's signal fires at the deadline.
   */
  cancel({ message, expectsReply }: OutgoingMessage): void {
    const opened = this.#opened;
    if (opened === undefined || !expectsReply) return;
    opened.queue
      .remove(toJobId(message.id))
      .catch((error: unknown) => opened.channel.report(error, 'connection'));
  }

  async close(drained: boolean): Promise<void> {
    if (this.#opened === undefined) return;
    if (!drained) this.#opened.adder.cutOff();
    await this.#release(this.#opened);
  }

  /** Releases what `open()` made; a queue or connection passed in stays open. */
  async #release({ queue, redis, replies, channel, onError }: Opened): Promise<void> {
    await replies.close();
    if (queue !== this.#options.queue) await queue.close().catch((error) => channel.report(error, 'close'));
    queue.off('error', onError);
    await closeRedis(redis);
  }
}

/** Why `open()` failed: Redis could not be reached for `queueName`. */
function unreachable(queueName: string, cause: unknown): TransportError {
  const reason = errorMessage(cause);
  return new TransportError(`BullMQProducer could not reach Redis for queue "${queueName}": ${reason}`, {
    cause,
  });
}

/** A dispatch's delivery options as BullMQ job options: `delay`, `priority`, `deduplication`. */
function jobDelivery({ delayMs, priority, dedupeKey }: DeliveryOptions): JobsOptions {
  const options: JobsOptions = {};
  if (delayMs !== undefined) options.delay = delayMs;
  if (priority !== undefined) options.priority = priority;
  if (dedupeKey !== undefined) options.deduplication = { id: dedupeKey };
  return options;
}
