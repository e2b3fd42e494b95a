import { errorMessage, isSwitchyardError } from '../errors.ts';
import type { FailureOutcome } from './failure-outcome.ts';

/**
 * What a durable transport does with a delivery whose message failed: try it again after its
 * backoff, keep it as a dead letter, or complete it (the failure was reported, nothing to keep).
 */
export type DeliveryFate = 'retry' | 'dead-letter' | 'complete';

/**
 * The fate of a failed delivery, read from the outcome table (see `failureOutcome`): retried while
 * the failure may pass and attempts are left; then kept as a dead letter or completed, as the table
 * says. A query that was answered (its caller got the error reply) completes: a second answer would
 * reach nobody. Shared by every durable transport (BullMQ, Postgres) so a failure has one fate.
 *
 * @param attemptsMade tries made so far, the one that just failed included (1 after the first).
 * @param attempts tries allowed in all, the first included.
 */
export function deliveryFate(
  outcome: FailureOutcome,
  attemptsMade: number,
  attempts: number,
  answered: boolean,
): DeliveryFate {
  if (answered) return 'complete';
  if (outcome.retry && attemptsMade < attempts) return 'retry';
  return outcome.deadLetter ? 'dead-letter' : 'complete';
}

/** A retry schedule: a fixed wait, or one that doubles after each failed try. */
export interface Backoff {
  readonly type: 'fixed' | 'exponential';
  /** The first wait, in ms. */
  readonly delay: number;
}

/**
 * The wait before the next try, in ms, after `attemptsMade` tries failed (1 after the first):
 * `delay` for `fixed`, `delay × 2^(attemptsMade − 1)` for `exponential` — BullMQ's schedule. A
 * number is a fixed delay.
 */
export function backoffDelay(backoff: number | Backoff, attemptsMade: number): number {
  if (typeof backoff === 'number') return backoff;
  if (backoff.type === 'fixed') return backoff.delay;
  return Math.round(backoff.delay * 2 ** Math.max(0, attemptsMade - 1));
}

/** How a dead letter records why it failed: `CODE: message` for a Switchyard error, else the message. */
export function failedReason(error: unknown): string {
  const message = errorMessage(error);
  return isSwitchyardError(error) ? `${error.code}: ${message}` : message;
}
