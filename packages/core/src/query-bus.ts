import type { Deferred } from './deferred.ts';
import { DispatchContext } from './dispatch-context.ts';
import { AbortedError, NoHandlerError, TimeoutError } from './errors.ts';
import { isThenable } from './is-thenable.ts';
import type { AnyMessage, ResultOf } from './message.ts';
import { MessageBus } from './message-bus.ts';
import { isMessageProducer } from './message-producer.ts';
import { Priority } from './pipeline.ts';
import { FinderInvokeStrategy } from './plugins/finder-invoke-strategy.ts';

/** Options of one query dispatch. */
export interface QueryDispatchOptions {
  /** Reject with `SWITCHYARD_ABORTED` when this signal aborts. @default undefined */
  readonly signal?: AbortSignal | undefined;
  /**
   * Reject with `SWITCHYARD_TIMEOUT` if the query has not settled after this many milliseconds.
   * @default the bus's `defaultTimeoutMs`
   */
  readonly timeoutMs?: number | undefined;
}

/** Options of a {@link QueryBus}. */
export interface QueryBusOptions {
  /**
   * Timeout applied to every dispatch that does not give its own `timeoutMs`.
   * @default undefined — no bus-level timeout (producers still apply their own reply timeout)
   */
  readonly defaultTimeoutMs?: number | undefined;
  /**
   * Attach {@link FinderInvokeStrategy} so finder objects with `find(query, deferred)` work as targets.
   * @default true
   */
  readonly finderObjects?: boolean;
}

/**
 * Dispatches each query to exactly one finder and resolves with its result, typed by the query's
 * definition. A finder is a function `(query) => result | Promise<result>`, a function
 * `(query, deferred) => void` that settles the deferred (prooph style, recognised by its two
 * parameters), a `{ find }` object, a service id or a MessageProducer that can reply.
 *
 * @example
 * const GetUser = defineQuery<{ id: string }, User | undefined>('GetUser');
 * const router = new QueryRouter();
 * router.route(GetUser).to(async (q) => users.get(q.payload.id));
 * queryBus.use(router);
 * const user = await queryBus.dispatch(GetUser.create({ id }), { timeoutMs: 2_000 });
 */
export class QueryBus extends MessageBus {
  readonly kind = 'query';
  readonly #defaultTimeoutMs: number | undefined;

  constructor(options: QueryBusOptions = {}) {
    super();
    this.#defaultTimeoutMs = options.defaultTimeoutMs;
    this.attach('dispatch', invokeFinder, Priority.invokeHandler);
    if (options.finderObjects !== false) this.use(new FinderInvokeStrategy());
  }

  /** Resolves with the finder's (or remote) result; rejects with a {@link DispatchError}. */
  dispatch<Q extends AnyMessage | object>(query: Q, options?: QueryDispatchOptions): Promise<ResultOf<Q>> {
    const context = new DispatchContext('query', query);
    const signal = options?.signal;
    const timeoutMs = options?.timeoutMs ?? this.#defaultTimeoutMs;
    if (signal === undefined && timeoutMs === undefined) return this.run(context) as Promise<ResultOf<Q>>;
    context.raceable = true;
    const deferred = context.deferred;
    const name = () => context.messageName ?? 'an unnamed query';
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    if (signal !== undefined) {
      if (signal.aborted) deferred.reject(new AbortedError(name(), signal.reason));
      else {
        onAbort = () => deferred.reject(new AbortedError(name(), signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
      }
    }
    if (timeoutMs !== undefined && !deferred.settled) {
      timer = setTimeout(() => deferred.reject(new TimeoutError(name(), timeoutMs)), timeoutMs);
    }
    return (this.run(context) as Promise<ResultOf<Q>>).finally(() => {
      if (timer !== undefined) clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    });
  }

  protected settle(context: DispatchContext): void | Promise<void> {
    if (context.resultReady) return undefined;
    if (!context.handled) {
      // An early abort already settled the deferred: report that rather than the routing.
      if (context.hasDeferred && context.deferred.settled) return waitFor(context, context.deferred);
      const name = context.messageName ?? 'an unnamed query';
      throw new NoHandlerError(
        context.target === undefined
          ? `No finder is routed for query "${name}"`
          : `A finder was routed for query "${name}" but could not be invoked (not a function, producer or { find } object, or an unresolved service id)`,
      );
    }
    return waitFor(context, context.deferred);
  }
}

function waitFor(context: DispatchContext, deferred: Deferred<unknown>): Promise<void> {
  context.phase = 'invoke-handler';
  return deferred.promise.then((result) => {
    context.result = result;
  });
}

function invokeFinder(context: DispatchContext): unknown {
  if (context.handled) return undefined;
  const target = context.target;
  if (typeof target === 'function') {
    context.handled = true;
    if (target.length >= 2) {
      // Deferred style: the finder settles the deferred itself; a rejection still counts.
      const deferred = context.deferred;
      const result = target(context.message, deferred);
      if (isThenable(result)) {
        result.then(
          (value) => {
            if (value !== undefined) deferred.resolve(value);
          },
          (error: unknown) => deferred.reject(error),
        );
      } else if (result !== undefined) deferred.resolve(result);
      return undefined;
    }
    const result = target(context.message);
    // Nothing can race this dispatch: take the answer directly, without a deferred in between.
    if (!context.raceable) {
      if (!isThenable(result)) {
        context.result = result;
        context.resultReady = true;
        return undefined;
      }
      return result.then((value) => {
        context.result = value;
        context.resultReady = true;
      });
    }
    context.deferred.resolve(result);
    return undefined;
  }
  if (isMessageProducer(target)) {
    if (!target.capabilities.replies) return undefined;
    context.handled = true;
    const deferred = context.deferred;
    const produced = target.produce(context.message as AnyMessage, deferred);
    if (!context.raceable) return produced;
    // The caller's timeout or abort bounds the whole dispatch, also a send the transport is still
    // blocked on (a full queue, a peer that never completes its handshake): stop waiting for the
    // send once the deferred settles, and keep its late failure from going unhandled.
    produced.catch(ignore);
    return Promise.race([produced, deferred.promise.then(ignore, ignore)]);
  }
  return undefined;
}

function ignore(): void {}
