import {
  ConfigurationError,
  type DeadLetterQueue,
  type DeadLetterRecord,
  JsonCodec,
  type MessageCodec,
} from '@switchyard/core';
import type { Job } from 'bullmq';
import { decodeJob } from './decode-job.ts';
import { type JobData, movedDeadLetter } from './job-data.ts';
import { QueueJobs, type QueueJobsOptions } from './queue-jobs.ts';

/**
 * Options of {@link DeadLetters}: the queue whose failed set to manage — a `queueName` (with a
 * `connection` and `prefix`, as on the producer and consumer) or an existing `queue`. Redis errors
 * go to `onError` (stage `'connection'`), else to `logger`.
 */
export interface DeadLettersOptions extends QueueJobsOptions {
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
  readonly #jobs: QueueJobs;
  readonly #codec: MessageCodec;

  /** Checks the options; connects nothing — the first call does. */
  constructor(options: DeadLettersOptions) {
    if (options.queue === undefined && (options.queueName === undefined || options.queueName.length === 0)) {
      throw new ConfigurationError('DeadLetters: give a queueName (with a connection) or an existing queue');
    }
    this.#jobs = new QueueJobs('DeadLetters', options);
    this.#codec = options.codec ?? new JsonCodec();
  }

  /** How many failed jobs there are. */
  async count(): Promise<number> {
    return (await this.#jobs.open()).getFailedCount();
  }

  /** Failed jobs, newest first, `limit` from `offset`. @param limit @default 100 */
  async list(offset = 0, limit = 100): Promise<DeadLetter[]> {
    return (await this.#jobs.page(['failed'], offset, limit)).map((job) => this.#toDeadLetter(job));
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
    await replayJob(job);
    return true;
  }

  /** Moves every failed job (up to `limit`) back to the queue with attempts reset; returns how many. */
  async replayAll(limit = Number.POSITIVE_INFINITY): Promise<number> {
    let replayed = 0;
    const budget = Math.min(limit, await this.count());
    while (replayed < budget) {
      const page = await this.#jobs.page(['failed'], 0, Math.min(500, budget - replayed));
      if (page.length === 0) break;
      for (const job of page) {
        await replayJob(job);
        replayed++;
      }
    }
    return replayed;
  }

  /** Deletes one failed job (`jobId`) or all of them; returns how many were deleted. */
  async purge(jobId?: string): Promise<number> {
    if (jobId === undefined) return this.#jobs.cleanAll('failed');
    const job = await this.#failedJob(jobId);
    if (job === undefined) return 0;
    await job.remove();
    return 1;
  }

  /** Closes the queue this object created (not one passed in). */
  close(): Promise<void> {
    return this.#jobs.close();
  }

  /**
   * The job, if it is in the failed set. The state is read first: BullMQ writes `failedReason` and
   * `finishedOn` and moves the job to the failed set in one script, so a job read after it was
   * seen failed carries its final reason. (Read the other way round, a job fetched while it still
   * ran and seen failed a moment later came back with an empty `failedReason`.) A job replayed
   * between the two reads has lost its `finishedOn`: it is no longer a dead letter.
   */
  async #failedJob(jobId: string): Promise<Job | undefined> {
    const queue = await this.#jobs.open();
    if ((await queue.getJobState(jobId)) !== 'failed') return undefined;
    const job = (await queue.getJob(jobId)) as Job | undefined;
    if (job === undefined || job === null || job.finishedOn === undefined) return undefined;
    return job;
  }

  #toDeadLetter(job: Job): DeadLetter {
    return {
      jobId: String(job.id),
      name: job.name,
      failedReason: job.failedReason ?? '',
      attemptsMade: job.attemptsMade,
      failedAt: job.finishedOn === undefined ? undefined : new Date(job.finishedOn),
      ...decodeJob(this.#codec, job.data),
    };
  }
}

/**
 * Moves a failed job back to the queue with its attempts reset. A dead letter moved out of a pack
 * first loses its `failedReason` mark, so that it is handled again rather than failed at once.
 */
async function replayJob(job: Job): Promise<void> {
  if (movedDeadLetter(job.data) !== undefined) {
    const { failedReason: _, ...data } = job.data as JobData;
    await job.updateData(data);
  }
  await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
}
