import type { Deferred } from './deferred.ts';
import { DispatchContext } from './dispatch-context.ts';
import type { DispatchOptions } from './dispatch-options.ts';
import { NoHandlerError } from './errors.ts';
import { isThenable } from './is-thenable.ts';
import type { AnyMessage, QueryMessage, ResultOf } from './message.ts';
import { MessageBus } from './message-bus.ts';
import { isMessageProducer, refuseDeliveryOptionsLocally } from './message-producer.ts';
import { callHandler } from './observability/handling-scope.ts';
import { Priority } from './pipeline.ts';
import { deferredFinderFunction } from './plugins/deferred-finder.ts';
import { FinderInvokeStrategy } from './plugins/finder-invoke-strategy.ts';

/** Options of one query dispatch (the same as every bus's {@link DispatchOptions}). */
export type QueryDispatchOptions = DispatchOptions;

/** Options of a {@link QueryBus}. */
export interface QueryBusOptions {
  /**
   * Call each local handler in a handling scope, so that what it dispatches — locally or over any
   * transport — carries `correlationId` and `causationId`, and `handledMessage()` works. It costs an
   * `AsyncLocalStorage.run` per local handler call (0.4–0.8 µs on Node 24), so by default it is on
   * only once the process uses a transport (creates a producer or consumer) or installs
   * instrumentation — where messages leave the process — and off in a purely in-process app.
   * `true` turns it on regardless, `false` off.
   * @default undefined — automatic, as above
   */
  readonly correlation?: boolean | undefined;
  /**
   * Timeout applied to every dispatch that does not give its own `timeoutMs`.
   * @default undefined — no bus-level timeout (producers still apply their own reply timeout)
   */
  readonly defaultTimeoutMs?: number | undefined;
  /**
   * Attach {@link FinderInvokeStrategy} so finder objects with `find(query, context)` work as targets.
   * @default true
   */
  readonly finderObjects?: boolean;
}

/**
 * Dispatches each query to exactly one finder and resolves with its result, typed by the query's
 * definition. A finder is a function `(query, context) => result | Promise<result>`, a prooph-style
 * function that settles a deferred (wrapped in {@link deferredFinder}, so the style is explicit), a
 * `{ find }` object, a service id or a MessageProducer that can reply.
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

  constructor(options: QueryBusOptions = {}) {
    super(options.defaultTimeoutMs);
    this.correlation = options.correlation;
    this.attach('dispatch', invokeFinder, Priority.invokeHandler);
    if (options.finderObjects !== false) this.use(new FinderInvokeStrategy());
  }

  /**
   * Resolves with the finder's (or remote) result; rejects with a {@link DispatchError} — with
   * `SWITCHYARD_TIMEOUT` / `SWITCHYARD_ABORTED` when `timeoutMs` / `signal` end it first. Takes
   * query messages only; for prooph-style raw messages use {@link dispatchRaw}.
   */
  dispatch<Q extends QueryMessage>(query: Q, options?: QueryDispatchOptions): Promise<ResultOf<Q>> {
    return this.dispatchBounded(new DispatchContext('query', query), options) as Promise<ResultOf<Q>>;
  }

  protected settle(context: DispatchContext): void | Promise<void> {
    if (context.resultReady) return undefined;
    const pending = context.pendingResult;
    if (pending !== undefined) {
      // The finder's promise was not the last step of the chain (a listener ran after it): it has
      // settled, read its value.
      return Promise.resolve(pending).then((value) => {
        context.result = value;
        context.resultReady = true;
      });
    }
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
  const settleItself = deferredFinderFunction(target);
  if (settleItself !== undefined) {
    // prooph style: the finder settles the deferred itself; a rejection still counts.
    refuseDeliveryOptionsLocally(context);
    context.handled = true;
    const deferred = context.deferred;
    const result = callHandler(settleItself, context.message, deferred, context.correlation);
    if (isThenable(result)) result.then(undefined, (error: unknown) => deferred.reject(error));
    return undefined;
  }
  if (typeof target === 'function') {
    refuseDeliveryOptionsLocally(context);
    context.handled = true;
    const result = callHandler(target as Handler, context.message, context, context.correlation);
    // Nothing can race this dispatch: take the answer directly, without a deferred in between.
    if (!context.raceable) {
      if (!isThenable(result)) {
        context.result = result;
        context.resultReady = true;
        return undefined;
      }
      // The bus takes the value from the promise it awaits anyway (see `pendingResult`): no `then`
      // of our own, which would cost a promise, a closure and a tick per query.
      context.pendingResult = result;
      return result;
    }
    context.deferred.resolve(result);
    return undefined;
  }
  if (isMessageProducer(target)) {
    if (!target.capabilities.replies) return undefined;
    context.handled = true;
    const deferred = context.deferred;
    const delivery = context.delivery;
    const produced = target.produce(
      context.message as AnyMessage,
      delivery === undefined ? { deferred } : { deferred, delivery },
    );
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

/** A local handler as the bus calls it. */
type Handler = (message: never, context: DispatchContext) => unknown;
