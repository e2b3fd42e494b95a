import type { DispatchContext } from './dispatch-context.ts';
import { DispatchError } from './errors.ts';
import { type BusEvent, type Listener, type ListenerHandle, Pipeline, Priority } from './pipeline.ts';
import type { Plugin } from './plugins/plugin.ts';

/** Which bus a plugin is attached to. */
export type BusKind = 'command' | 'event' | 'query';

/**
 * The shared pipeline of the three buses (prooph's service-bus model): a `dispatch` action event
 * with prioritised phases and a `finalize` event that always runs. Subclasses add what is particular
 * to their kind of message.
 */
export abstract class MessageBus {
  /** `command`, `event` or `query`. */
  abstract readonly kind: BusKind;
  readonly #pipeline = new Pipeline<DispatchContext>();
  readonly #plugins = new Set<Plugin>();

  constructor() {
    this.#pipeline.attach('dispatch', detectMessageName, Priority.detectMessageName);
  }

  /**
   * Attaches a listener to `dispatch` or `finalize` at a priority (see {@link Priority}); equal
   * priorities run in attach order. Returns a handle for {@link detach}.
   *
   * @example
   * const handle = bus.attach('finalize', (ctx) => { if (ctx.error) log(ctx.messageName, ctx.error); }, 0);
   */
  attach(event: BusEvent, listener: Listener<DispatchContext>, priority = 0): ListenerHandle {
    return this.#pipeline.attach(event, listener, priority);
  }

  /** Detaches a listener; returns false if it was not attached. */
  detach(handle: ListenerHandle): boolean {
    return this.#pipeline.detach(handle);
  }

  /**
   * Attaches a plugin (router, guard, producer plugin, …). Returns a function that detaches it.
   *
   * @example
   * const router = new CommandRouter();
   * router.route(RegisterUser).to(registerUser);
   * commandBus.use(router);
   */
  use(plugin: Plugin): () => void {
    if (this.#plugins.has(plugin)) return () => this.unuse(plugin);
    plugin.attachToBus(this);
    this.#plugins.add(plugin);
    return () => this.unuse(plugin);
  }

  /** Detaches a plugin attached with {@link use}. */
  unuse(plugin: Plugin): void {
    if (!this.#plugins.delete(plugin)) return;
    plugin.detachFromBus(this);
  }

  /**
   * Runs one dispatch through the pipeline; `settle` runs after the dispatch chain and before
   * finalize (the query bus waits for its deferred there). Throws a {@link DispatchError}.
   */
  protected async run(context: DispatchContext): Promise<void> {
    try {
      const pending = this.#pipeline.runDispatch(context);
      if (pending !== undefined) await pending;
      const settled = this.settle(context);
      if (settled !== undefined) await settled;
    } catch (error) {
      context.error = error;
      context.errorPhase = context.phase;
    }
    context.propagationStopped = false;
    try {
      const pending = this.#pipeline.runFinalize(context);
      if (pending !== undefined) await pending;
    } catch (error) {
      context.error = error;
      context.errorPhase = 'finalize';
    }
    if (context.error !== undefined) {
      throw new DispatchError(context.error, context.messageName, context.errorPhase);
    }
  }

  /** Checks the outcome after the dispatch chain (e.g. "no handler"); may be async. */
  protected abstract settle(context: DispatchContext): void | Promise<void>;
}

function detectMessageName(context: DispatchContext): void {
  if (context.messageName !== undefined) return;
  const message = context.message;
  if (typeof message === 'object' && message !== null) {
    const name = (message as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) context.messageName = name;
  }
}
