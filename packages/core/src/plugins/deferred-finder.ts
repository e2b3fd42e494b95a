import type { Deferred } from '../deferred.ts';

/** The key a {@link deferredFinder} keeps its function under (a string, like Standard Schema's `~standard`). */
const DEFERRED_FINDER = '~switchyardDeferredFinder';

/** A prooph-style finder: it settles the deferred it is given instead of returning the result. */
export interface DeferredFinder<M, R> {
  readonly [DEFERRED_FINDER]: (query: M, deferred: Deferred<R>) => unknown;
}

/**
 * Marks a prooph-style finder, `(query, deferred) => void`, that settles the deferred itself
 * (`deferred.resolve(result)` / `deferred.reject(error)`), e.g. from a callback API. A rejected
 * promise it returns rejects the query too. Plain finders return their result instead and need no
 * wrapper: the style is said, never guessed from the number of parameters.
 *
 * @example
 * queries.route(GetUser).to(
 *   deferredFinder((query, deferred) => {
 *     legacyDb.find(query.payload.userId, (error, row) => (error ? deferred.reject(error) : deferred.resolve(row)));
 *   }),
 * );
 */
export function deferredFinder<M, R>(
  find: (query: M, deferred: Deferred<R>) => unknown,
): DeferredFinder<M, R> {
  if (typeof find !== 'function')
    throw new TypeError('deferredFinder needs a function (query, deferred) => void');
  return Object.freeze({ [DEFERRED_FINDER]: find });
}

/** The function a {@link deferredFinder} wraps. */
export function deferredFinderFunction(
  finder: unknown,
): ((query: unknown, deferred: Deferred<unknown>) => unknown) | undefined {
  if (typeof finder !== 'object' || finder === null) return undefined;
  const find = (finder as Record<string, unknown>)[DEFERRED_FINDER];
  return typeof find === 'function'
    ? (find as (query: unknown, deferred: Deferred<unknown>) => unknown)
    : undefined;
}
