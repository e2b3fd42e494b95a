import {
  type AnyMessage,
  ConfigurationError,
  type DeadLetterQueue,
  type DeadLetterRecord,
  ErrorReporter,
  type ErrorReportingOptions,
  JsonCodec,
  type MessageCodec,
  type WireData,
} from '@switchyard/core';
import { type ConnectionOptions, type Job, Queue } from 'bullmq';
import { fromJobData } from './job-data.ts';
import { isRedisClient, type RedisConnection } from './redis-connection.ts';

/**
 * Options of {@link DeadLetters}: the queue whose failed set to manage. Redis errors go to
 * `onError` (stage `'connection'`), else to `logger`.
 */
export interface DeadLettersOptions extends ErrorReportingOptions {
  /** The queue name (the producer's and consumer's `queueName`). Required unless `queue` is given. */
  readonly queueName?: string | undefined;
  /** BullMQ key prefix, as on the producer and consumer. @default 'bull' */
  readonly prefix?: string | undefined;
  /** ioredis options, a `redis://` URL, or an existing ioredis instance. @default { host: '127.0.0.1', port: 6379 } */
  readonly connection?: RedisConnection | undefined;
  /** An existing BullMQ `Queue` (not closed by `close()`). @default undefined — one is created and owned */
  readonly queue?: Queue | undefined;
  /** Decodes the envelopes for {@link DeadLetter.message}; use the producer's codec. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

/** One failed job: what it carried and why it failed (core's `DeadLetterRecord`, named by its job id). */
export interface DeadLetter extends DeadLetterRecord {
  /** The BullMQ job id (the message id, escaped if BullMQ required it). Pass it to `replay`/`purge`. */
  readonly jobId: string;
  /** The job name: the message name. */
  readonly name: string;
}

/**
 * The dead-letter queue of a BullMQ-carried message stream: BullMQ's failed set. List failed
 * messages with their error, put one or all back in the queue (attempts reset, same job id), or
 * purge them.
 *
 * @example
 * import { DeadLetters } from '@switchyard/bullmq';
 *
 * const deadLetters = new DeadLetters({ queueName: 'billing', connection: 'redis://127.0.0.1:6379' });
 * for (const letter of await deadLetters.list()) {
 *   console.log(letter.jobId, letter.name, letter.failedReason);
 * }
 * await deadLetters.replay('9b2f…');   // one, after fixing the cause
 * await deadLetters.replayAll();        // or all of them
 * await deadLetters.purge();            // or drop them
 * await deadLetters.close();
 */
export class DeadLetters implements DeadLetterQueue<DeadLetter> {
  readonly #options: DeadLettersOptions;
  readonly #codec: MessageCodec;
  readonly #errors: ErrorReporter;
  #opened: Queue | undefined;

  /** Checks the options; connects nothing — the first call does. */
  constructor(options: DeadLettersOptions) {
    if (options.queue === undefined && (options.queueName === undefined || options.queueName.length === 0)) {
      throw new ConfigurationError('DeadLetters: give a queueName (with a connection) or an existing queue');
    }
    this.#options = options;
    this.#codec = options.codec ?? new JsonCodec();
    this.#errors = new ErrorReporter('DeadLetters', 'bullmq', options);
  }

  /** The queue: the one given, or one opened on first use. */
  get #queue(): Queue {
    if (this.#opened !== undefined) return this.#opened;
    const options = this.#options;
    let queue = options.queue;
    if (queue === undefined) {
      const connection = options.connection ?? { host: '127.0.0.1', port: 6379 };
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

  /** How many failed jobs there are. */
  async count(): Promise<number> {
    return this.#queue.getFailedCount();
  }

  /** Failed jobs, newest first, `limit` from `offset`. @param limit @default 100 */
  async list(offset = 0, limit = 100): Promise<DeadLetter[]> {
    if (limit <= 0) return [];
    const jobs = (await this.#queue.getFailed(offset, offset + limit - 1)) as Job[];
    return jobs.filter((job) => job !== undefined && job !== null).map((job) => this.#toDeadLetter(job));
  }

  /** One failed job by id, or `undefined` if there is no such failed job. */
  async get(jobId: string): Promise<DeadLetter | undefined> {
    const job = await this.#failedJob(jobId);
    return job === undefined ? undefined : this.#toDeadLetter(job);
  }

  /**
   * Moves one failed job back to the queue with its attempts reset. Returns false when no failed
   * job has that id.
   */
  async replay(jobId: string): Promise<boolean> {
    const job = await this.#failedJob(jobId);
    if (job === undefined) return false;
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    return true;
  }

  /** Moves every failed job (up to `limit`) back to the queue with attempts reset; returns how many. */
  async replayAll(limit = Number.POSITIVE_INFINITY): Promise<number> {
    let replayed = 0;
    const budget = Math.min(limit, await this.count());
    while (replayed < budget) {
      const page = (await this.#queue.getFailed(0, Math.min(500, budget - replayed) - 1)) as Job[];
      if (page.length === 0) break;
      for (const job of page) {
        if (job === undefined || job === null) continue;
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
        replayed++;
      }
    }
    return replayed;
  }

  /** Deletes one failed job (`jobId`) or all of them; returns how many were deleted. */
  async purge(jobId?: string): Promise<number> {
    if (jobId !== undefined) {
      const job = await this.#failedJob(jobId);
      if (job === undefined) return 0;
      await job.remove();
      return 1;
    }
    let removed = 0;
    for (;;) {
      const ids = await this.#queue.clean(0, 1_000, 'failed');
      removed += ids.length;
      if (ids.length === 0) return removed;
    }
  }

  /** Closes the queue this object created (not one passed in). */
  async close(): Promise<void> {
    if (this.#options.queue === undefined) await this.#opened?.close();
  }

  /**
   * The job, if it is in the failed set. The state is read first: BullMQ writes `failedReason` and
   * `finishedOn` and moves the job to the failed set in one script, so a job read after it was
   * seen failed carries its final reason. (Read the other way round, a job fetched while it still
   * ran and seen failed a moment later came back with an empty `failedReason`.) A job replayed
   * between the two reads has lost its `finishedOn`: it is no longer a dead letter.
   */
  async #failedJob(jobId: string): Promise<Job | undefined> {
    if ((await this.#queue.getJobState(jobId)) !== 'failed') return undefined;
    const job = (await this.#queue.getJob(jobId)) as Job | undefined;
    if (job === undefined || job === null || job.finishedOn === undefined) return undefined;
    return job;
  }

  #toDeadLetter(job: Job): DeadLetter {
    let envelope: WireData | undefined;
    let message: AnyMessage | undefined;
    try {
      const stored = fromJobData(job.data).envelope;
      // An envelope stored as an object is listed as its JSON text.
      envelope = 'data' in stored ? stored.data : JSON.stringify(stored.object);
      message =
        'data' in stored || this.#codec.decodeObject === undefined
          ? this.#codec.decode(envelope)
          : this.#codec.decodeObject(stored.object);
    } catch {
      // Poison input: listed with what there is.
    }
    return {
      jobId: String(job.id),
      name: job.name,
      failedReason: job.failedReason ?? '',
      attemptsMade: job.attemptsMade,
      failedAt: job.finishedOn === undefined ? undefined : new Date(job.finishedOn),
      message,
      envelope,
    };
  }
}
