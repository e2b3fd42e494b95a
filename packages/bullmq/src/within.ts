import { fulfilledWithin } from '@switchyard/core';

/**
 * Waits for `promise` at most `timeoutMs`: resolves when it fulfils in time, rejects with its error
 * when it rejects, or with ``new Error(`${what} within ${timeoutMs} ms`)`` when the time runs out
 * (its later outcome is ignored). For the Redis waits that must not hang a caller: connecting,
 * adding a batch of jobs.
 */
export async function within(promise: Promise<unknown>, timeoutMs: number, what: string): Promise<void> {
  let failure: unknown = new Error(`${what} within ${timeoutMs} ms`);
  const watched = promise.catch((error: unknown) => {
    failure = error;
    throw error;
  });
  if (!(await fulfilledWithin(watched, timeoutMs))) throw failure;
}
