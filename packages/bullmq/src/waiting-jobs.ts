import {
  type AnyMessage,
  ErrorReporter,
  type ErrorReportingOptions,
  JsonCodec,
  type MessageCodec,
  type StoredMessage,
  type StoredMessages,
  type WireData,
} from '@switchyard/core';
import { type ConnectionOptions, type Job, type JobType, Queue } from 'bullmq';
import { fromJobData } from './job-data.ts';
import { toJobId } from './job-id.ts';
import { isRedisClient, type RedisConnection } from './redis-connection.ts';

/** Options of {@link WaitingJobs}. */
export interface WaitingJobsOptions extends ErrorReportingOptions {
  /** The queue name. */
  readonly queueName: string;
  /** BullMQ key prefix. @default 'bull' */
  readonly prefix?: string | undefined;
  /** ioredis options, a `redis://` URL, or an existing ioredis instance. @default { host: '127.0.0.1', port: 6379 } */
  readonly connection?: RedisConnection | undefined;
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
  readonly #options: WaitingJobsOptions;
  readonly #codec: MessageCodec;
  readonly #errors: ErrorReporter;
  #queue: Queue | undefined;

  constructor(options: WaitingJobsOptions) {
    this.#options = options;
    this.#codec = options.codec ?? new JsonCodec();
    this.#errors = new ErrorReporter('WaitingJobs', 'bullmq', options);
  }

  get #opened(): Queue {
    if (this.#queue !== undefined) return this.#queue;
    const { queueName, prefix } = this.#options;
    const connection = this.#options.connection ?? { host: '127.0.0.1', port: 6379 };
    const queue = new Queue(queueName, {
      connection: (isRedisClient(connection) || typeof connection !== 'string'
        ? connection
        : { url: connection }) as ConnectionOptions,
      ...(prefix === undefined ? {} : { prefix }),
    });
    queue.on('error', (error) => this.#errors.report(error, 'connection'));
    this.#queue = queue;
    return queue;
  }

  count(): Promise<number> {
    return this.#opened.getJobCountByTypes(...WAITING);
  }

  async list(offset = 0, limit = 100): Promise<StoredMessage[]> {
    if (limit <= 0) return [];
    const jobs = (await this.#opened.getJobs(WAITING, offset, offset + limit - 1, false)) as Job[];
    return jobs.filter((job) => job !== undefined && job !== null).map((job) => this.#toStored(job));
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
    for (const type of CLEANABLE) {
      for (;;) {
        const ids = await this.#opened.clean(0, 1_000, type);
        removed += ids.length;
        if (ids.length === 0) break;
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    const queue = this.#queue;
    this.#queue = undefined;
    await queue?.close();
  }

  /** The job of message `id` (or job id), if no worker took it. */
  async #waitingJob(id: string): Promise<Job | undefined> {
    const queue = this.#opened;
    for (const jobId of new Set([toJobId(id), id])) {
      const state = await queue.getJobState(jobId);
      if (state === 'waiting' || state === 'prioritized' || state === 'delayed') {
        return ((await queue.getJob(jobId)) as Job | undefined) ?? undefined;
      }
    }
    return undefined;
  }

  #toStored(job: Job): StoredMessage {
    let envelope: WireData | undefined;
    let message: AnyMessage | undefined;
    try {
      const stored = fromJobData(job.data).envelope;
      envelope = 'data' in stored ? stored.data : JSON.stringify(stored.object);
      message =
        'data' in stored || this.#codec.decodeObject === undefined
          ? this.#codec.decode(envelope)
          : this.#codec.decodeObject(stored.object);
    } catch {
      // Undecodable: listed with what there is.
    }
    return {
      id: message?.id ?? String(job.id),
      name: job.name,
      message,
      envelope,
      storedAt: Number.isFinite(job.timestamp) ? new Date(job.timestamp) : undefined,
    };
  }
}
