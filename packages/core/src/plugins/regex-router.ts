import type { DispatchContext } from '../dispatch-context.ts';
import { ConfigurationError } from '../errors.ts';
import type { MessageBus } from '../message-bus.ts';
import { isMessageProducer } from '../message-producer.ts';
import { Priority } from '../pipeline.ts';
import { AbstractPlugin } from './plugin.ts';
import { applyRoute, type RouteTargets } from './route-targets.ts';

interface PatternRoute {
  readonly pattern: RegExp;
  readonly targets: RouteTargets;
}

/** The second half of `regexRouter.route(/…/).to(target)`. */
export interface RegexRoute {
  /** Routes every name that matches to `target` (a handler, object, service id or producer). */
  to(target: unknown): RegexRoute;
}

/**
 * Routes by regular expression over message names, on any bus. On a command or query bus a name
 * must match exactly one pattern (several is an error at dispatch); on an event bus every matching
 * pattern's targets run, in registration order.
 *
 * @example
 * const router = new RegexRouter();
 * router.route(/^Billing\./).to(httpProducer);
 * commandBus.use(router);
 */
export class RegexRouter extends AbstractPlugin {
  readonly #routes: PatternRoute[] = [];
  #pending: RegExp | undefined;

  route(pattern: RegExp): RegexRoute {
    if (!(pattern instanceof RegExp)) throw new ConfigurationError('RegexRouter.route() takes a RegExp');
    if (pattern.global || pattern.sticky) {
      throw new ConfigurationError(
        `Pattern ${pattern} must not be global or sticky (test() would keep state)`,
      );
    }
    this.#assertNoPending();
    this.#pending = pattern;
    const targets: RouteTargets = { locals: [], producers: [] };
    const route: RegexRoute = {
      to: (target) => {
        if (this.#pending === pattern) {
          this.#pending = undefined;
          this.#routes.push({ pattern, targets });
        }
        if (isMessageProducer(target)) targets.producers.push(target);
        else if (
          typeof target === 'function' ||
          typeof target === 'string' ||
          (typeof target === 'object' && target !== null)
        ) {
          targets.locals.push(target);
        } else throw new ConfigurationError(`Invalid target for ${pattern}`);
        return route;
      },
    };
    return route;
  }

  attachToBus(bus: MessageBus): void {
    this.#assertNoPending();
    for (const { pattern, targets } of this.#routes) {
      if (bus.kind !== 'event' && (targets.locals.length > 1 || targets.producers.length > 1)) {
        throw new ConfigurationError(`${pattern} has several targets; a ${bus.kind} has exactly one`);
      }
      if (bus.kind === 'query' && targets.producers.some((producer) => !producer.capabilities.replies)) {
        throw new ConfigurationError(`${pattern} routes queries to a producer that does not carry replies`);
      }
    }
    this.listen(bus, 'dispatch', (context) => this.#route(context), Priority.route);
  }

  #route(context: DispatchContext): void {
    const name = context.messageName;
    if (name === undefined) return;
    let matched: PatternRoute | undefined;
    for (const route of this.#routes) {
      if (!route.pattern.test(name)) continue;
      if (context.busKind === 'event') {
        applyRoute(context, route.targets);
        continue;
      }
      if (matched !== undefined) {
        throw new ConfigurationError(`"${name}" matches both ${matched.pattern} and ${route.pattern}`);
      }
      matched = route;
    }
    if (matched !== undefined) applyRoute(context, matched.targets);
  }

  #assertNoPending(): void {
    if (this.#pending !== undefined) throw new ConfigurationError(`The route ${this.#pending} has no target`);
  }
}
