import { ErrorCode, isSwitchyardError } from '../errors.ts';

/** Why receiving a message failed. */
export type ReceiveFailure =
  | 'decode'
  | 'too-large'
  | 'validation'
  | 'unknown-message'
  | 'unauthorized'
  | 'expired'
  | 'timeout'
  | 'aborted'
  | 'unavailable'
  | 'handler';

/** What a failure means for every transport: one row of the outcome table. */
export interface FailureOutcome {
  /** The kind of failure. */
  readonly failure: ReceiveFailure;
  /** Trying the same message again may succeed (a durable transport retries it with backoff). */
  readonly retry: boolean;
  /** Once it fails for good it is kept as a dead letter (where the transport keeps them) rather than only reported. */
  readonly deadLetter: boolean;
  /** The HTTP status a consumer answers with. */
  readonly status: number;
}

function row(failure: ReceiveFailure, status: number, retry: boolean, deadLetter: boolean): FailureOutcome {
  return Object.freeze({ failure, status, retry, deadLetter });
}

const HANDLER = row('handler', 500, true, true);

/**
 * The outcome table, keyed by error code. Every consumer reads it — BullMQ to retry or fail a job,
 * HTTP for the status, ZeroMQ and in-memory to report — so a failure means the same on every
 * transport. Anything not listed (an application error) is a handler failure.
 */
export const FAILURE_OUTCOMES: Readonly<Record<string, FailureOutcome>> = Object.freeze({
  [ErrorCode.DecodeError]: row('decode', 400, false, true),
  [ErrorCode.InvalidMessage]: row('decode', 400, false, true),
  [ErrorCode.PayloadTooLarge]: row('too-large', 413, false, true),
  [ErrorCode.ValidationError]: row('validation', 422, false, true),
  [ErrorCode.NoHandler]: row('unknown-message', 404, false, true),
  [ErrorCode.Unauthorized]: row('unauthorized', 403, false, true),
  // Nobody waits for an expired message any more: refused, reported, never retried or kept.
  [ErrorCode.DeadlineExceeded]: row('expired', 504, false, false),
  [ErrorCode.Timeout]: row('timeout', 504, false, false),
  [ErrorCode.Aborted]: row('aborted', 499, false, false),
  // The consumer is shutting down: another one (or this one, restarted) can take it.
  [ErrorCode.ProducerClosed]: row('unavailable', 503, true, false),
});

/** The row of the outcome table for `error` (see {@link FAILURE_OUTCOMES}). */
export function failureOutcome(error: unknown): FailureOutcome {
  if (!isSwitchyardError(error)) return HANDLER;
  // A dispatch the handler made itself failed (e.g. a nested query nobody handles): that is the
  // handler failing, not this message being unknown.
  if (isNested(error)) return HANDLER;
  return FAILURE_OUTCOMES[error.code] ?? HANDLER;
}

function isNested(error: { readonly name: string; readonly cause?: unknown }): boolean {
  const cause = error.cause;
  return error.name === 'DispatchError' && isSwitchyardError(cause) && cause.name === 'DispatchError';
}
