import { type AnyMessage, failedReason } from '@switchyard/core';
import { Backoffs, type Job, type JobsOptions } from 'bullmq';
import { isDataObject, type JobData } from './job-data.ts';
import { toJobId } from './job-id.ts';
import type { JobToAdd } from './pack-jobs.ts';
import type { QueueJobs } from './queue-jobs.ts';

/** A message of a pack that is to be tried again or kept as a dead letter. */
export interface FailedPackMessage {
  /** The message's job data, as the pack carried it. */
  readonly data: unknown;
  readonly fate: 'retry' | 'dead-letter';
  /** The decoded message, when decoding got that far. */
  readonly message: AnyMessage | undefined;
  readonly error: unknown;
}

/**
 * Moves the messages of a pack that failed to jobs of their own, on the consumer's queue, so that
 * each is retried or kept exactly as if it had always had its own job:
 *
 * - to be retried: the pack's job options, the attempts the pack had left, delayed by the pack's
 *   backoff for this attempt (`fixed` and `exponential`; a custom strategy moves it without delay);
 * - a dead letter: one attempt, and the job data marked with its `failedReason`, so the job fails
 *   at once, is not handled again, and lands in the failed set (`DeadLetters` lists and replays it).
 *
 * A message that was decoded gets its usual job id (the message id), so moving it twice — the pack
 * run again after a crash — adds it once. The queue (`jobs`) is opened on the first move.
 */
export class PackMover {
  readonly #jobs: QueueJobs;

  constructor(jobs: QueueJobs) {
    this.#jobs = jobs;
  }

  /** Adds one job per failed message; rejects when Redis did not take them (the pack is then run again). */
  async move(pack: Job, failed: readonly FailedPackMessage[]): Promise<void> {
    const jobs: JobToAdd[] = [];
    for (const entry of failed) jobs.push(await movedJob(pack, entry));
    await (await this.#jobs.open()).addBulk(jobs);
  }

  /**
   * Hands the messages of `pack` not handled yet back to the queue — a consumer closing stops
   * between two messages — as a pack with the same job options, at the head of the waiting list
   * (BullMQ's `lifo`) so that they keep their place. Rejects when Redis did not take it.
   */
  async handBack(pack: Job, rest: readonly unknown[]): Promise<void> {
    const opts: JobsOptions = { ...carriedOptions(pack), lifo: true };
    const { attempts, backoff } = pack.opts;
    if (attempts !== undefined) opts.attempts = attempts;
    if (backoff !== undefined) opts.backoff = backoff;
    await (await this.#jobs.open()).add(pack.name, { pack: rest }, opts);
  }

  /** Closes the queue, if a move opened it (not the connection it shares). */
  close(): Promise<void> {
    return this.#jobs.close();
  }
}

/** The job options of `pack` that a job made from its messages keeps: retention and priority. */
function carriedOptions(pack: Job): JobsOptions {
  const { removeOnComplete, removeOnFail, priority } = pack.opts;
  const opts: JobsOptions = {};
  if (removeOnComplete !== undefined) opts.removeOnComplete = removeOnComplete;
  if (removeOnFail !== undefined) opts.removeOnFail = removeOnFail;
  if (priority !== undefined && priority > 0) opts.priority = priority;
  return opts;
}

/** The job of its own a failed message of `pack` moves to. */
async function movedJob(pack: Job, { data, fate, message, error }: FailedPackMessage): Promise<JobToAdd> {
  const { attempts = 1, backoff } = pack.opts;
  const opts = carriedOptions(pack);
  if (message !== undefined) opts.jobId = toJobId(message.id);
  const name = message?.name ?? pack.name;
  // What the pack carried (poison included: it fails the same way on its own).
  const stored = (isDataObject(data) ? data : { envelope: data }) as Partial<JobData> as JobData;
  if (fate === 'dead-letter') {
    return { name, data: { ...stored, failedReason: failedReason(error) }, opts: { ...opts, attempts: 1 } };
  }
  const attempt = pack.attemptsMade + 1;
  opts.attempts = attempts - attempt;
  if (backoff !== undefined) {
    opts.backoff = backoff;
    const delay = await retryDelay(backoff, attempt, error, pack);
    if (delay > 0) opts.delay = delay;
  }
  return { name, data: stored, opts };
}

/** BullMQ's wait before the next try after `attempt` failed; 0 for a strategy only a worker knows. */
async function retryDelay(
  backoff: NonNullable<JobsOptions['backoff']>,
  attempt: number,
  error: unknown,
  job: Job,
): Promise<number> {
  try {
    const options = Backoffs.normalize(backoff);
    if (options === undefined) return 0;
    const cause = error instanceof Error ? error : new Error(String(error));
    return (await Backoffs.calculate(options, attempt, cause, job)) ?? 0;
  } catch {
    return 0; // a custom strategy: the consumer's worker defines none
  }
}
