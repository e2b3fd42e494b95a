import { JsonCodec, type MessageCodec, type StoredMessage, type StoredMessages } from '@switchyard/core';
import type { Job, JobType } from 'bullmq';
import { decodeJob } from './decode-job.ts';
import { toJobId } from './job-id.ts';
import { QueueJobs, type QueueJobsOptions } from './queue-jobs.ts';

/** Options of {@link WaitingJobs}. */
export interface WaitingJobsOptions extends Omit<QueueJobsOptions, 'queueName' | 'queue'> {
  /** The queue name. */
  readonly queueName: string;
  /** Decodes the envelopes; use the producer's codec. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

/** The states of a job no worker took yet. */
const WAITING: JobType[] = ['waiting', 'prioritized', 'delayed'];
/** `Queue.clean`'s names for them. */
const CLEANABLE = ['wait', 'prioritized', 'delayed'] as const;

/**
 * The jobs waiting in a BullMQ queue that nobody consumes (core's `StoredMessages`): what lets a
 * BullMQ queue be `createSwitchyard`'s dead-letter sink. Connects on first use.
 */
export class WaitingJobs implements StoredMessages {
  readonly #jobs: QueueJobs;
  readonly #codec: MessageCodec;

  constructor(options: WaitingJobsOptions) {
    // Always a queue of its own (a `queue` passed untyped is ignored, as it always was).
    this.#jobs = new QueueJobs('WaitingJobs', { ...options, queue: undefined });
    this.#codec = options.codec ?? new JsonCodec();
  }

  async count(): Promise<number> {
    return (await this.#jobs.open()).getJobCountByTypes(...WAITING);
  }

  async list(offset = 0, limit = 100): Promise<StoredMessage[]> {
    return (await this.#jobs.page(WAITING, offset, limit)).map((job) => this.#toStored(job));
  }

  async get(id: string): Promise<StoredMessage | undefined> {
    const job = await this.#waitingJob(id);
    return job === undefined ? undefined : this.#toStored(job);
  }

  async remove(id?: string): Promise<number> {
    if (id !== undefined) {
      const job = await this.#waitingJob(id);
      if (job === undefined) return 0;
      await job.remove();
      return 1;
    }
    let removed = 0;
    for (const state of CLEANABLE) removed += await this.#jobs.cleanAll(state);
    return removed;
  }

  close(): Promise<void> {
    return this.#jobs.close();
  }

  /** The job of message `id` (or job id), if no worker took it. */
  async #waitingJob(id: string): Promise<Job | undefined> {
    const queue = await this.#jobs.open();
    for (const jobId of new Set([toJobId(id), id])) {
      const state = await queue.getJobState(jobId);
      if (state === 'waiting' || state === 'prioritized' || state === 'delayed') {
        return ((await queue.getJob(jobId)) as Job | undefined) ?? undefined;
      }
    }
    return undefined;
  }

  #toStored(job: Job): StoredMessage {
    const { message, envelope } = decodeJob(this.#codec, job.data);
    return {
      id: message?.id ?? String(job.id),
      name: job.name,
      message,
      envelope,
      storedAt: Number.isFinite(job.timestamp) ? new Date(job.timestamp) : undefined,
    };
  }
}
