import {
  fulfilledWithin,
  isSwitchyardError,
  MessageReceiver,
  type ReceiverOptions,
  type Reply,
} from '@switchyard/core';
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import { fromJobData, toReplyMessage } from './job-data.ts';
import {
  closeRedis,
  isRedisClient,
  type OpenedRedis,
  openRedis,
  type RedisConnection,
} from './redis-connection.ts';

/** Options of the {@link BullMQConsumer}: where to read jobs from, plus the buses to dispatch into. */
export interface BullMQConsumerOptions extends ReceiverOptions {
  /** The BullMQ queue to process; the producer's `queueName`. */
  readonly queueName: string;
  /** BullMQ key prefix, the producer's `prefix` (on Redis Cluster a hash tag such as `{switchyard}`). @default 'bull' */
  readonly prefix?: string | undefined;
  /**
   * ioredis options, a `redis://` URL, or an existing ioredis `Redis`/`Cluster`. From options or a
   * URL the worker's connections get `maxRetriesPerRequest: null`, which BullMQ requires of a
   * worker; an instance you pass must already have it. One more connection publishes query replies (each reply is awaited before the job completes).
   * @default { host: '127.0.0.1', port: 6379 }
   */
  readonly connection?: RedisConnection | undefined;
  /** Jobs processed at once by this consumer. @default 1 */
  readonly concurrency?: number | undefined;
  /**
   * On `close()`: how long to let active jobs finish after fetching stopped. Jobs still running then
   * are abandoned: their lock expires and another worker takes them over as stalled.
   * @default 10_000
   */
  readonly closeTimeoutMs?: number | undefined;
  /** How long a job's lock lasts; a worker that dies holds its jobs at most this long. @default 30_000 */
  readonly lockDuration?: number | undefined;
  /** How often stalled jobs (lock expired) are moved back to wait, in ms. @default 30_000 */
  readonly stalledInterval?: number | undefined;
  /** How many times a job may stall before it is failed instead of retried. @default 1 */
  readonly maxStalledCount?: number | undefined;
  /** Start processing on construction; with `false` call `run()`. @default true */
  readonly autorun?: boolean | undefined;
  /**
   * Called with every job that failed (decode, validation, unknown message, handler error), with
   * the error and the BullMQ job, and with connection errors of the worker (job `undefined`).
   * @default undefined — failures are only recorded in BullMQ (retry, failed set)
   */
  readonly onError?: ((error: unknown, job: Job | undefined) => void) | undefined;
}

/**
 * Receives the jobs a {@link BullMQProducer} added, on a BullMQ `Worker`: decodes and validates each
 * envelope, dispatches it into the local command, event or query bus, and publishes query replies.
 *
 * - a handler error throws, so BullMQ retries the job with the producer's backoff until `attempts`
 *   are used up, then leaves it in the failed set (see `DeadLetters`);
 * - an undecodable or invalid envelope, or a message no bus handles, fails the job at once with
 *   BullMQ's `UnrecoverableError` — retrying cannot help;
 * - a query is answered (result or error reply) and never retried: its job completes once the reply
 *   is published. Only a query too broken to answer ends in the failed set.
 *
 * @example
 * import { BullMQConsumer } from '@switchyard/bullmq';
 *
 * const consumer = new BullMQConsumer({
 *   queueName: 'billing',
 *   connection: 'redis://127.0.0.1:6379',
 *   concurrency: 16,
 *   commandBus,
 *   queryBus,
 *   definitions: [ChargeCard, GetInvoice],
 * });
 * process.on('SIGTERM', () => void consumer.close());
 */
export class BullMQConsumer {
  readonly #receiver: MessageReceiver;
  readonly #worker: Worker;
  readonly #publisher: OpenedRedis;
  readonly #onError: ((error: unknown, job: Job | undefined) => void) | undefined;
  readonly #closeTimeoutMs: number;
  #closing: Promise<void> | undefined;

  constructor(options: BullMQConsumerOptions) {
    this.#receiver = new MessageReceiver('bullmq', options);
    this.#onError = options.onError;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    const connection = options.connection ?? { host: '127.0.0.1', port: 6379 };
    this.#publisher = openRedis(connection, { maxRetriesPerRequest: 3 }, true);
    this.#publisher.client.on('error', () => undefined);
    this.#worker = new Worker(options.queueName, (job: Job) => this.#process(job), {
      connection: workerConnection(connection),
      ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      concurrency: options.concurrency ?? 1,
      autorun: options.autorun ?? true,
      ...(options.lockDuration === undefined ? {} : { lockDuration: options.lockDuration }),
      ...(options.stalledInterval === undefined ? {} : { stalledInterval: options.stalledInterval }),
      ...(options.maxStalledCount === undefined ? {} : { maxStalledCount: options.maxStalledCount }),
    });
    this.#worker.on('error', (error) => this.#report(error, undefined));
  }

  /** The underlying BullMQ worker (for events and metrics; do not close it directly). */
  get worker(): Worker {
    return this.#worker;
  }

  /** Resolves once the worker is connected to Redis. */
  async waitUntilReady(): Promise<void> {
    await this.#worker.waitUntilReady();
  }

  /** Starts processing when the consumer was created with `autorun: false`. */
  run(): void {
    void this.#worker.run().catch((error: unknown) => this.#report(error, undefined));
  }

  /**
   * Graceful close: stops fetching jobs, lets active ones finish for up to `closeTimeoutMs`, then
   * closes. Jobs still active after that are abandoned to the stalled check of another worker
   * (their handler may still complete here: delivery is at least once).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const drained = await fulfilledWithin(this.#worker.pause(false), this.#closeTimeoutMs);
    await this.#worker.close(!drained).catch((error: unknown) => this.#report(error, undefined));
    await closeRedis(this.#publisher);
  }

  async #process(job: Job): Promise<void> {
    let envelope: ReturnType<typeof fromJobData>;
    try {
      envelope = fromJobData(job.data);
    } catch (error) {
      this.#report(error, job);
      throw new UnrecoverableError(describe(error));
    }
    const result = await this.#receiver.receive(envelope.envelope);
    if (envelope.replyTo !== undefined && result.reply !== undefined) {
      await this.#reply(envelope.replyTo, result.reply);
    }
    if (result.ok) return;
    this.#report(result.error, job);
    // A query was answered (with its error): it is done, retrying would answer nobody.
    if (result.message?.kind === 'query' && envelope.replyTo !== undefined) return;
    if (result.failure === 'handler') throw new Error(describe(result.error), { cause: result.error });
    throw new UnrecoverableError(describe(result.error));
  }

  async #reply(channel: string, reply: Reply): Promise<void> {
    try {
      await this.#publisher.client.publish(channel, toReplyMessage(this.#receiver.encodeReply(reply)));
    } catch (error) {
      // The caller times out; the query is not run again (it may not be idempotent).
      this.#report(error, undefined);
    }
  }

  #report(error: unknown, job: Job | undefined): void {
    try {
      this.#onError?.(error, job);
    } catch {
      // A failing error hook must not take the worker down.
    }
  }
}

/** `CODE: message`, what BullMQ records as the job's `failedReason`. */
function describe(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return isSwitchyardError(error) ? `${error.code}: ${message}` : message;
}

/** BullMQ connection options for a worker: `maxRetriesPerRequest: null` as BullMQ requires. */
function workerConnection(connection: RedisConnection): ConnectionOptions {
  if (isRedisClient(connection)) return connection as ConnectionOptions;
  if (typeof connection === 'string') return { url: connection, maxRetriesPerRequest: null };
  return { ...connection, maxRetriesPerRequest: null } as ConnectionOptions;
}
