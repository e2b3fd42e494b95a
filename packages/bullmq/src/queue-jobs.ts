import { ErrorReporter, type ErrorReportingOptions } from '@switchyard/core';
import { type ConnectionOptions, type Job, type JobType, Queue } from 'bullmq';
import { isConnecting, isRedisClient, type RedisConnection, whenReady } from './redis-connection.ts';

/** How long {@link QueueJobs.open} waits for a connecting ioredis instance passed in. */
const READY_TIMEOUT_MS = 5_000;

/** Where the jobs are: what `DeadLetters` and `WaitingJobs` are given. */
export interface QueueJobsOptions extends ErrorReportingOptions {
  /** The queue name (the producer's and consumer's `queueName`). Required unless `queue` is given. */
  readonly queueName?: string | undefined;
  /** BullMQ key prefix, as on the producer and consumer. @default 'bull' */
  readonly prefix?: string | undefined;
  /** ioredis options, a `redis://` URL, or an existing ioredis instance. @default { host: '127.0.0.1', port: 6379 } */
  readonly connection?: RedisConnection | undefined;
  /** An existing BullMQ `Queue` (not closed by `close()`). @default undefined — one is created and owned */
  readonly queue?: Queue | undefined;
}

/** `Queue.clean`'s names of job states. */
export type CleanableState = NonNullable<Parameters<Queue['clean']>[2]>;

/**
 * The jobs of a BullMQ queue, for the objects that list and remove them (`DeadLetters`,
 * `WaitingJobs`): the queue — the one given, or one opened on first use whose errors go to
 * `onError` with stage `'connection'` — a page of jobs in some states, and removing all the jobs
 * of a state.
 */
export class QueueJobs {
  readonly #options: QueueJobsOptions;
  readonly #errors: ErrorReporter;
  #opened: Queue | undefined;

  /** Connects nothing: the first use of {@link open} does. */
  constructor(component: string, options: QueueJobsOptions) {
    this.#options = options;
    this.#errors = new ErrorReporter(component, 'bullmq', options);
  }

  /**
   * The queue: the one given, or one opened on first use. An ioredis instance passed in that is
   * still connecting is waited for first (at most {@link READY_TIMEOUT_MS}): BullMQ 6.7 counts a
   * `Cluster` in status `connect` (slots not loaded yet) as ready and sends its version check at
   * once, which a cluster without an offline queue refuses.
   */
  async open(): Promise<Queue> {
    if (this.#opened !== undefined) return this.#opened;
    const options = this.#options;
    let queue = options.queue;
    if (queue === undefined) {
      const connection = options.connection ?? { host: '127.0.0.1', port: 6379 };
      if (isRedisClient(connection) && isConnecting(connection)) {
        await whenReady(connection, READY_TIMEOUT_MS);
      }
      if (this.#opened !== undefined) return this.#opened; // another call opened it meanwhile
      queue = new Queue(options.queueName!, {
        connection: (isRedisClient(connection) || typeof connection !== 'string'
          ? connection
          : { url: connection }) as ConnectionOptions,
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      });
      queue.on('error', (error) => this.#errors.report(error, 'connection'));
    }
    this.#opened = queue;
    return queue;
  }

  /** The jobs in `types`, newest first, `limit` from `offset` (none when `limit` is not positive). */
  async page(types: JobType[], offset: number, limit: number): Promise<Job[]> {
    if (limit <= 0) return [];
    const jobs = (await (await this.open()).getJobs(types, offset, offset + limit - 1, false)) as Job[];
    return jobs.filter((job) => job !== undefined && job !== null);
  }

  /** Deletes every job in `state`, 1,000 at a time; returns how many. */
  async cleanAll(state: CleanableState): Promise<number> {
    let removed = 0;
    for (;;) {
      const ids = await (await this.open()).clean(0, 1_000, state);
      removed += ids.length;
      if (ids.length === 0) return removed;
    }
  }

  /** Closes the queue opened here (not one given); the next use opens another. */
  async close(): Promise<void> {
    const opened = this.#opened;
    this.#opened = undefined;
    if (this.#options.queue === undefined) await opened?.close();
  }
}
