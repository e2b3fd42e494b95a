import {
  ConfigurationError,
  checkOption,
  errorMessage,
  fulfilledWithin,
  type ReceiveResult,
  type Reply,
  reportDeadLetter,
  TransportConsumer,
  type TransportConsumerOptions,
  TransportError,
} from '@switchyard/core';
import { type ConnectionOptions, type Job, UnrecoverableError, Worker } from 'bullmq';
import { Cluster, type Redis } from 'ioredis';
import type { BullMQAddress } from './bullmq-address.ts';
import { fromJobData, movedDeadLetter, packOf, toReplyMessage } from './job-data.ts';
import { fateError, jobFate } from './job-fate.ts';
import { type FailedPackMessage, PackMover } from './pack-mover.ts';
import { QueueJobs } from './queue-jobs.ts';
import {
  closeRedis,
  isRedisClient,
  type OpenedRedis,
  openRedis,
  type RedisConnection,
} from './redis-connection.ts';
import { within } from './within.ts';

/**
 * Options of the {@link BullMQConsumer}: the queue to read, plus core's consumer options — the buses,
 * `definitions`, `codec`, `exposeErrorStack`, `logger`.
 */
export interface BullMQConsumerOptions extends TransportConsumerOptions {
  /** The BullMQ queue to process: the producer's `queueName`. */
  readonly queueName: string;
  /** BullMQ key prefix: the producer's `prefix`. @default 'bull' */
  readonly prefix?: string | undefined;
  /**
   * ioredis options, a `redis://` URL, or an existing ioredis `Redis`/`Cluster`. From options or a
   * URL the worker's connections get `maxRetriesPerRequest: null` (BullMQ requires it of a worker);
   * an instance you pass must have it already. One more connection publishes query replies.
   * @default { host: '127.0.0.1', port: 6379 }
   */
  readonly connection?: RedisConnection | undefined;
  /** Jobs processed at once. @default 1 */
  readonly concurrency?: number | undefined;
  /**
   * `close()`: how long the jobs taken may finish once fetching stopped. Jobs still running then
   * are abandoned: their lock expires and a worker's stalled check hands them out again.
   * @default 10_000
   */
  readonly closeTimeoutMs?: number | undefined;
  /** `start()`: how long to wait for Redis before rejecting with `SWITCHYARD_TRANSPORT_ERROR`. @default 10_000 */
  readonly startTimeoutMs?: number | undefined;
  /** How long a job's lock lasts; a dead worker holds its jobs at most this long. @default 30_000 */
  readonly lockDuration?: number | undefined;
  /** How often stalled jobs are moved back to wait, in ms; use one value for all workers of a queue. @default 30_000 */
  readonly stalledInterval?: number | undefined;
  /** Stalls allowed before a job is failed instead of retried. @default 1 */
  readonly maxStalledCount?: number | undefined;
  /**
   * Every background failure and where it happened: a message that failed (`context.stage` is
   * `'receive'`; `context.job` is the BullMQ `Job`), a reply not published (`'reply'`), Redis errors
   * (`'connection'`), a failed close (`'close'`).
   * @default undefined — failures go to `logger`
   */
  readonly onError?: TransportConsumerOptions['onError'];
}

/**
 * Core's receive pipeline on a BullMQ `Worker`: each job is decoded, validated, refused if its
 * deadline passed, dispatched into the local bus, and a query answered on its producer's reply
 * channel. What becomes of a failed job is read from core's outcome table (see {@link jobFate}):
 * a handler error is retried with backoff, then kept in the failed set; an undecodable, invalid or
 * unknown message is failed at once; an expired one is completed unrun; an answered query completes.
 * Nothing starts before `start()`, which resolves once the worker is connected.
 *
 * @example
 * const consumer = new BullMQConsumer({ queueName: 'billing', concurrency: 16, commandBus, queryBus });
 * await consumer.start();
 * process.on('SIGTERM', () => void consumer.close());
 */
export class BullMQConsumer extends TransportConsumer<BullMQAddress> {
  readonly #options: BullMQConsumerOptions;
  #worker: Worker | undefined;
  #publisher: OpenedRedis | undefined;
  /** Moves the failed messages of packs to jobs of their own. */
  #mover: PackMover | undefined;
  /** Set at close: the worker's pause, resolved once every job it fetched has finished. */
  #idle: Promise<void> | undefined;
  /** True while the publisher's socket holds this tick's replies (see {@link #corkReplies}). */
  #corked = false;

  constructor(options: BullMQConsumerOptions) {
    super('BullMQConsumer', 'bullmq', options, 1);
    const queueName = options.queueName;
    if (typeof queueName !== 'string' || !/^[^:]+$/.test(queueName)) {
      throw new ConfigurationError(
        `BullMQConsumer: queueName must be a string without ":", got ${queueName}`,
      );
    }
    checkOption('BullMQConsumer', 'startTimeoutMs', options.startTimeoutMs, 10_000, 'positive');
    // BullMQ's own defaults apply when these are not given; given, they must make sense.
    checkOption('BullMQConsumer', 'lockDuration', options.lockDuration, 30_000, 'positive');
    checkOption('BullMQConsumer', 'stalledInterval', options.stalledInterval, 30_000, 'positive');
    checkOption('BullMQConsumer', 'maxStalledCount', options.maxStalledCount, 0, 'count');
    this.#options = options;
  }

  /** The BullMQ worker, for events and metrics (close it through the consumer). */
  get worker(): Worker {
    if (this.#worker === undefined)
      throw new ConfigurationError('BullMQConsumer: await consumer.start() first');
    return this.#worker;
  }

  /** Failed jobs stay in BullMQ's failed set (see `DeadLetters`): no `deadLetterSink`. */
  protected override get keepsDeadLetters(): boolean {
    return true;
  }

  protected async open(): Promise<BullMQAddress> {
    const { queueName, prefix, lockDuration, stalledInterval, maxStalledCount } = this.#options;
    const connection = this.#options.connection ?? { host: '127.0.0.1', port: 6379 };
    // Replies published in the same tick leave in one write: corked on a single Redis
    // (#corkReplies), autopipelined on a Cluster (a socket per node, nothing to cork). Not for the
    // worker's connections: batching its per-job scripts does not pay (autopipelining: commands
    // 0.77×; corking: commands ~1.0×, queries 0.92–0.94×).
    const cluster = connection instanceof Cluster;
    const publisher = openRedis(
      connection,
      { maxRetriesPerRequest: 3, ...(cluster ? { enableAutoPipelining: true } : {}) },
      true,
    );
    publisher.client.on('error', (error: unknown) => this.errors.report(error, 'connection'));
    const worker = new Worker(queueName, this.#process, {
      connection: workerConnection(connection),
      concurrency: this.concurrency,
      autorun: false,
      ...(prefix === undefined ? {} : { prefix }),
      ...(lockDuration === undefined ? {} : { lockDuration }),
      ...(stalledInterval === undefined ? {} : { stalledInterval }),
      ...(maxStalledCount === undefined ? {} : { maxStalledCount }),
    });
    worker.on('error', (error) => this.errors.report(error, 'connection'));
    try {
      await within(
        worker.waitUntilReady(),
        this.#options.startTimeoutMs ?? 10_000,
        'Redis did not become ready',
      );
    } catch (cause) {
      await this.#release(worker, publisher, true);
      const reason = errorMessage(cause);
      throw new TransportError(`BullMQConsumer could not reach Redis for queue "${queueName}": ${reason}`, {
        cause,
      });
    }
    this.#worker = worker;
    this.#publisher = publisher;
    // On the publisher's connection; its errors reach onError/logger as the consumer's own.
    const { onError, logger } = this.#options;
    this.#mover = new PackMover(
      new QueueJobs('BullMQConsumer', { queueName, prefix, connection: publisher.client, onError, logger }),
    );
    worker.run().catch((error: unknown) => this.errors.report(error, 'connection'));
    return { queueName, prefix: worker.opts.prefix ?? 'bull' };
  }

  protected stopIntake(): void {
    const worker = this.#worker;
    if (worker === undefined) return;
    // Stops fetching at once; resolves once every job the worker fetched has finished — also one
    // fetched a moment ago that has not reached the processor (and the in-flight count) yet.
    this.#idle = worker.pause(false);
    this.#idle.catch((error: unknown) => {
      if (worker.closing === undefined) this.errors.report(error, 'close'); // else a forced close cut it short
    });
  }

  protected async release(drained: boolean, deadline: number): Promise<void> {
    if (this.#worker === undefined || this.#publisher === undefined) return;
    const left = Math.max(0, deadline - Date.now());
    const idle = drained && this.#idle !== undefined && (await fulfilledWithin(this.#idle, left));
    await this.#release(this.#worker, this.#publisher, !idle);
  }

  /** Closes the worker — `force` abandons the jobs still running to the stalled check — and the publisher. */
  async #release(worker: Worker, publisher: OpenedRedis, force: boolean): Promise<void> {
    await worker.close(force).catch((error: unknown) => this.errors.report(error, 'close'));
    await this.#mover?.close().catch((error: unknown) => this.errors.report(error, 'close'));
    await closeRedis(publisher);
  }

  /** The worker's processor: one job through the receive pipeline, counted in flight. */
  readonly #process = (job: Job): Promise<void> => this.track(this.#receiveJob(job));

  /** A job: its message, or a pack's messages; throws what tells BullMQ to retry or fail it. */
  async #receiveJob(job: Job): Promise<void> {
    const pack = packOf(job.data);
    if (pack !== undefined) return this.#receivePack(job, pack);
    const movedReason = movedDeadLetter(job.data);
    // A dead letter moved out of a pack: reported when it was moved, kept without running again.
    if (movedReason !== undefined) throw new UnrecoverableError(movedReason);
    const failed = await this.#receive(job.data, job);
    if (failed === undefined) return;
    if (failed.fate === 'dead-letter')
      reportDeadLetter({ message: failed.message, transport: 'bullmq', error: failed.error });
    throw fateError(failed.fate, failed.error);
  }

  /**
   * A pack's messages, one after another — `concurrency` stays the number of handlers running at
   * once. The messages to retry or keep as dead letters then move to jobs of their own
   * ({@link PackMover}) and the pack completes; if Redis does not take them, the pack fails and
   * BullMQ runs all of it again (at least once). Once the consumer is closing, the messages not
   * started yet are handed back to the queue as a pack of their own.
   */
  async #receivePack(job: Job, pack: readonly unknown[]): Promise<void> {
    const failed: FailedPackMessage[] = [];
    let next = 0;
    while (next < pack.length && !this.lifecycle.closing) {
      const data = pack[next++];
      const failure = await this.#receive(data, job);
      if (failure !== undefined) failed.push({ data, ...failure });
    }
    // Closing: the messages not started yet go back to the queue instead of holding up close().
    if (next < pack.length) await this.#mover!.handBack(job, pack.slice(next));
    if (failed.length === 0) return;
    await this.#mover!.move(job, failed);
    for (const { fate, message, error } of failed) {
      if (fate === 'dead-letter') reportDeadLetter({ message, transport: 'bullmq', error });
    }
  }

  /**
   * One message through the receive pipeline, its reply published. Returns what must become of a
   * failed message that does not simply complete (core's outcome table, {@link jobFate}).
   */
  async #receive(data: unknown, job: Job): Promise<Omit<FailedPackMessage, 'data'> | undefined> {
    let replyTo: string | undefined;
    let result: ReceiveResult;
    try {
      const read = fromJobData(data);
      replyTo = read.replyTo;
      const { envelope } = read;
      if ('data' in envelope) result = await this.handle(envelope.data, undefined, { job });
      else {
        result = await this.receiver.receiveObject(envelope.object);
        if (!result.ok) this.reportFailure(result, { job });
      }
    } catch (error) {
      result = this.receiver.failed(error); // job data that is not ours
      if (!result.ok) this.reportFailure(result, { job });
    }
    const answered = replyTo !== undefined && result.reply !== undefined;
    if (answered) await this.#reply(replyTo!, result.reply!, job);
    if (result.ok) return undefined;
    const fate = jobFate(result.outcome, job, answered);
    return fate === 'complete' ? undefined : { fate, message: result.message, error: result.error };
  }

  async #reply(channel: string, reply: Reply, job: Job): Promise<void> {
    try {
      const client = this.#publisher!.client;
      this.#corkReplies(client);
      await client.publish(channel, toReplyMessage(this.receiver.encodeReply(reply)));
    } catch (error) {
      // The caller times out; the query is not run again (it may not be idempotent).
      this.errors.report(error, 'reply', { messageId: reply.inReplyTo, job });
    }
  }

  /**
   * Holds the publisher's socket writes until the end of this tick: the replies of the jobs that
   * finished together (the worker gets its Redis answers in batches) leave in one write, and each
   * `publish` still settles on its own answer. Measured at 100 queries in flight: 1.10–1.13× the
   * queries/s of ioredis' `enableAutoPipelining` (which settles a command only once its whole batch
   * is answered, and costs more Node CPU per command); one write per reply measured in between
   * (1.07–1.10× autopipelining).
   * A `Cluster` client (a socket per node, no `stream` of its own) is not corked: it is autopipelined.
   */
  #corkReplies(client: Redis | Cluster): void {
    if (this.#corked) return;
    const stream = (client as Partial<Redis>).stream;
    if (typeof stream?.cork !== 'function') return;
    this.#corked = true;
    stream.cork();
    process.nextTick(() => {
      this.#corked = false;
      stream.uncork();
    });
  }
}

/** BullMQ connection options for a worker: `maxRetriesPerRequest: null` as BullMQ requires. */
function workerConnection(connection: RedisConnection): ConnectionOptions {
  if (isRedisClient(connection)) return connection as ConnectionOptions;
  if (typeof connection === 'string') return { url: connection, maxRetriesPerRequest: null };
  return { ...connection, maxRetriesPerRequest: null } as ConnectionOptions;
}
