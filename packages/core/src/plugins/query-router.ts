import type { QueryDefinition } from '../definitions.ts';
import type { HandlerContext } from '../dispatch-options.ts';
import type { AnyMessage, QueryMessage } from '../message.ts';
import type { MessageProducer } from '../message-producer.ts';
import type { DeferredFinder } from './deferred-finder.ts';
import { addTarget } from './route-targets.ts';
import { Router } from './router.ts';

/**
 * A query target: a function returning the result (or a promise of it), a `{ find }` object, a
 * prooph-style finder wrapped in {@link deferredFinder}, a service id or a producer that carries
 * replies. The result type is checked against the query's definition.
 */
export type QueryFinder<M = AnyMessage, R = unknown> =
  | ((query: M, context: HandlerContext) => R | Promise<R>)
  | { find(query: M, context: HandlerContext): R | Promise<R> }
  | DeferredFinder<M, R>
  | string
  | MessageProducer;

/** The second half of `router.route(x).to(target)`. */
export interface QueryRoute<M, R> {
  /**
   * Routes the query to `target`. Call once with a local finder and/or once with a producer. A
   * producer whose `capabilities.replies` is false is refused here.
   */
  to(target: QueryFinder<M, R>): QueryRoute<M, R>;
}

/**
 * Routes each query name to exactly one finder (and, optionally, a producer that carries it).
 *
 * @example
 * const router = new QueryRouter();
 * router.route(GetUser).to(async (q) => users.get(q.payload.id));
 * queryBus.use(router);
 */
export class QueryRouter extends Router {
  readonly busKind = 'query';

  route<P, R>(definition: QueryDefinition<P, R>): QueryRoute<QueryMessage<P, R>, R>;
  route(name: string): QueryRoute<AnyMessage, unknown>;
  route(key: string | QueryDefinition<unknown, unknown>): QueryRoute<never, unknown> {
    const name = this.open(key);
    const route: QueryRoute<never, unknown> = {
      to: (target) => {
        addTarget(this.targetsOf(name), target, name, 'query', true);
        return route;
      },
    };
    return route;
  }
}
