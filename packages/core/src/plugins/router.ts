import { type AnyDefinition, isDefinition } from '../definitions.ts';
import type { DispatchContext } from '../dispatch-context.ts';
import { ConfigurationError } from '../errors.ts';
import type { BusKind, MessageBus } from '../message-bus.ts';
import { Priority } from '../pipeline.ts';
import { AbstractPlugin } from './plugin.ts';
import { applyRoute, type RouteKey, type RouteTargets, routeName } from './route-targets.ts';

/**
 * Base of the name-keyed routers. Attach to the bus of its kind; it routes in the `route` phase.
 * `route(x)` must be followed by `.to(target)` before the next `route()` or the attach.
 */
export abstract class Router extends AbstractPlugin {
  /** The bus kind this router serves. */
  abstract readonly busKind: BusKind;
  readonly #routes = new Map<string, RouteTargets>();
  readonly #definitions: AnyDefinition[] = [];
  readonly #buses = new Set<MessageBus>();
  #pending: string | undefined;

  attachToBus(bus: MessageBus): void {
    this.requireBus(bus, this.busKind);
    this.#assertNoPending();
    for (const definition of this.#definitions) bus.definitions.add(definition);
    this.#buses.add(bus);
    this.listen(bus, 'dispatch', (context) => this.routeContext(context), Priority.route);
  }

  override detachFromBus(bus: MessageBus): void {
    this.#buses.delete(bus);
    super.detachFromBus(bus);
  }

  /** Sets the context's target(s) if this router has a route for its message name. */
  routeContext(context: DispatchContext): void {
    if (context.messageName === undefined) return;
    const targets = this.#routes.get(context.messageName);
    if (targets !== undefined) applyRoute(context, targets);
  }

  /** The names this router has routes for. */
  routedNames(): string[] {
    return [...this.#routes.keys()];
  }

  /** Starts a route; returns the name. */
  protected open(key: RouteKey): string {
    this.#assertNoPending();
    const name = routeName(key, this.busKind);
    // A route keyed by a definition tells the buses its schema: their consumers validate with it.
    if (isDefinition(key)) {
      this.#definitions.push(key);
      for (const bus of this.#buses) bus.definitions.add(key);
    }
    this.#pending = name;
    return name;
  }

  /** The targets of `name`, created on first use; closes the pending route. */
  protected targetsOf(name: string): RouteTargets {
    if (this.#pending === name) this.#pending = undefined;
    let targets = this.#routes.get(name);
    if (targets === undefined) {
      targets = { locals: [], producers: [] };
      this.#routes.set(name, targets);
    }
    return targets;
  }

  #assertNoPending(): void {
    if (this.#pending !== undefined) {
      throw new ConfigurationError(
        `The route for "${this.#pending}" has no target: call .to(target) after route()`,
      );
    }
  }
}
