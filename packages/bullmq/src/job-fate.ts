import { errorMessage, type FailureOutcome, isSwitchyardError } from '@switchyard/core';
import { type Job, UnrecoverableError } from 'bullmq';

/**
 * What becomes of a job whose message failed: BullMQ tries it again after its backoff, keeps it in
 * the failed set (a dead letter), or completes it (the failure was reported, nothing to keep).
 */
export type JobFate = 'retry' | 'dead-letter' | 'complete';

/**
 * The fate of a failed job, read from the outcome table: retried while the failure may pass and
 * attempts are left; then kept as a dead letter or completed, as the table says. A query that was
 * answered (its caller got the error reply) is complete: a second answer would reach nobody.
 */
export function jobFate(
  outcome: FailureOutcome,
  job: Pick<Job, 'attemptsMade' | 'opts'>,
  answered: boolean,
): JobFate {
  if (answered) return 'complete';
  const attemptsLeft = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
  if (outcome.retry && attemptsLeft) return 'retry';
  return outcome.deadLetter ? 'dead-letter' : 'complete';
}

/**
 * What the processor throws for a job that is retried (a plain `Error`: BullMQ applies its backoff)
 * or kept as a dead letter (`UnrecoverableError`: straight to the failed set). BullMQ records its
 * message as the job's `failedReason`: `CODE: message`.
 */
export function fateError(fate: Exclude<JobFate, 'complete'>, error: unknown): Error {
  const message = errorMessage(error);
  const reason = isSwitchyardError(error) ? `${error.code}: ${message}` : message;
  return fate === 'retry' ? new Error(reason, { cause: error }) : new UnrecoverableError(reason);
}
