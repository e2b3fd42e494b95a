import { type DeliveryFate, deliveryFate, type FailureOutcome, failedReason } from '@switchyard/core';
import { type Job, UnrecoverableError } from 'bullmq';

/**
 * What becomes of a job whose message failed: BullMQ tries it again after its backoff, keeps it in
 * the failed set (a dead letter), or completes it (the failure was reported, nothing to keep).
 */
export type JobFate = DeliveryFate;

/**
 * The fate of a failed job: core's {@link deliveryFate} (the outcome table, shared with every
 * durable transport) for the attempt BullMQ is running now.
 */
export function jobFate(
  outcome: FailureOutcome,
  job: Pick<Job, 'attemptsMade' | 'opts'>,
  answered: boolean,
): JobFate {
  return deliveryFate(outcome, job.attemptsMade + 1, job.opts.attempts ?? 1, answered);
}

/**
 * What the processor throws for a job that is retried (a plain `Error`: BullMQ applies its backoff)
 * or kept as a dead letter (`UnrecoverableError`: straight to the failed set). BullMQ records its
 * message as the job's `failedReason`: `CODE: message` (core's `failedReason`).
 */
export function fateError(fate: Exclude<JobFate, 'complete'>, error: unknown): Error {
  const reason = failedReason(error);
  return fate === 'retry' ? new Error(reason, { cause: error }) : new UnrecoverableError(reason);
}
