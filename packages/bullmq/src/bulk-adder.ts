import { AbortedError, errorMessage, ProducerClosedError, TransportError } from '@switchyard/core';
import type { Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { type MessageJob, packJobs } from './pack-jobs.ts';
import { whenReady } from './redis-connection.ts';

/** One job to add, with the promise of its `add`. */
interface Pending {
  readonly job: MessageJob;
  /** Fires when the caller stopped waiting: the job is not sent. */
  readonly signal: AbortSignal | undefined;
  /** A query, whose deferred settled already when skipped: its `add` resolves rather than rejects. */
  readonly query: boolean;
  readonly resolve: (value: undefined) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Adds jobs to a BullMQ queue, coalescing the adds issued in one tick into one `addBulk` (at most
 * `maxBatchSize` jobs each) — the producer's fast path. Each add resolves once Redis took its batch,
 * or rejects with `SWITCHYARD_TRANSPORT_ERROR` when it did not within `sendTimeoutMs` (connecting
 * included; while `connection`, the producer's own, is down, at once). A job whose caller stopped
 * waiting before its batch left is not sent. With `messagesPerJob` above 1, the messages of a batch
 * that may share a job go in packs ({@link packJobs}).
 */
export class BulkAdder {
  readonly #queue: Queue;
  readonly #maxBatchSize: number;
  readonly #messagesPerJob: number;
  readonly #sendTimeoutMs: number;
  readonly #connection: Redis | Cluster | undefined;
  #batch: Pending[] = [];
  #flushScheduled = false;
  readonly #sending = new Set<Pending[]>();
  #connecting: Promise<void> | undefined;

  constructor(
    queue: Queue,
    maxBatchSize: number,
    messagesPerJob: number,
    sendTimeoutMs: number,
    connection: Redis | Cluster | undefined,
  ) {
    this.#queue = queue;
    this.#maxBatchSize = maxBatchSize;
    this.#messagesPerJob = messagesPerJob;
    this.#sendTimeoutMs = sendTimeoutMs;
    this.#connection = connection;
  }

  add(job: Pending['job'], signal: AbortSignal | undefined, query: boolean): Promise<undefined> {
    return new Promise<undefined>((resolve, reject) => {
      this.#batch.push({ job, signal, query, resolve, reject });
      if (this.#batch.length >= this.#maxBatchSize) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Rejects every add Redis has not confirmed with `SWITCHYARD_PRODUCER_CLOSED` (a close out of time). */
  cutOff(): void {
    const error = new ProducerClosedError('The producer closed before Redis took the job');
    for (const pending of [this.#batch, ...this.#sending]) for (const entry of pending) entry.reject(error);
    this.#batch = [];
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    while (this.#batch.length > 0) {
      const batch = this.#batch.splice(0, this.#maxBatchSize);
      void this.#send(batch);
    }
  };

  async #send(batch: Pending[]): Promise<void> {
    this.#sending.add(batch);
    // The time limit of `within`, without its per-call error and promise chain: the error is made
    // only when the time runs out (a batch of a few queries is the common case at 100 in flight).
    let timer: NodeJS.Timeout | undefined;
    const timeoutMs = this.#sendTimeoutMs;
    try {
      await Promise.race([
        this.#add(batch),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`Redis did not take the jobs within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
      for (const entry of batch) entry.resolve(undefined);
    } catch (cause) {
      const reason = errorMessage(cause);
      for (const { job, reject } of batch) {
        reject(
          new TransportError(`BullMQ queue "${this.#queue.name}" did not take "${job.name}": ${reason}`, {
            cause,
          }),
        );
      }
    } finally {
      clearTimeout(timer);
      this.#sending.delete(batch);
    }
  }

  async #add(batch: Pending[]): Promise<void> {
    const connection = this.#connection;
    if (connection !== undefined && connection.status !== 'ready') {
      // One shared wait, so any number of batches add one set of listeners to the client.
      this.#connecting ??= whenReady(connection, this.#sendTimeoutMs).finally(() => {
        this.#connecting = undefined;
      });
      await this.#connecting;
    }
    const live = batch.filter(isWanted).map((entry) => entry.job);
    const jobs = this.#messagesPerJob > 1 ? packJobs(live, this.#messagesPerJob) : live;
    if (jobs.length > 1) await this.#queue.addBulk(jobs);
    else if (jobs.length === 1) await this.#queue.add(jobs[0]!.name, jobs[0]!.data, jobs[0]!.opts);
  }
}

/** False for a job whose caller stopped waiting: settled here, not sent. */
function isWanted(entry: Pending): boolean {
  const signal = entry.signal;
  if (signal === undefined || !signal.aborted) return true;
  if (entry.query) entry.resolve(undefined);
  else entry.reject(new AbortedError(entry.job.name, signal.reason));
  return false;
}
