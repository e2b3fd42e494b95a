import { DefinitionRegistry } from './definitions.ts';
import { deliveryOptionsOf } from './delivery-options.ts';
import { DispatchContext } from './dispatch-context.ts';
import type { DispatchOptions } from './dispatch-options.ts';
import {
  AbortedError,
  ConfigurationError,
  DispatchError,
  InvalidMessageError,
  TimeoutError,
} from './errors.ts';
import { DEADLINE, deadlineOf, isMessage, receivedFrom, withMetadata } from './message.ts';
import { observeDispatch } from './observability/observe-dispatch.ts';
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
  readonly #defaultTimeoutMs: number | undefined;
  /**
   * The definitions routed on this bus (a router's `route(Definition)` adds them). Consumers that
   * feed this bus validate arriving payloads against their schemas by default.
   */
  readonly definitions = new DefinitionRegistry();
  /** Call local handlers in the handling scope: the bus's `correlation` option (`undefined`: automatic). */
  protected correlation: boolean | undefined = undefined;

  /** @param defaultTimeoutMs the `timeoutMs` of every dispatch that gives none. */
  constructor(defaultTimeoutMs?: number | undefined) {
    if (defaultTimeoutMs !== undefined) checkTimeout(defaultTimeoutMs, 'defaultTimeoutMs');
    this.#defaultTimeoutMs = defaultTimeoutMs;
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

  /**
   * Dispatches anything the pipeline can name — a Switchyard message, or a prooph-style raw message:
   * any object with a string `name`, or one a plugin of yours names in the detect-message-name
   * phase. The typed `dispatch` of each bus takes only messages of its kind; this entry point is
   * for integrations that carry their own message objects. Resolves with the result (queries) or
   * `undefined`.
   *
   * @example
   * await commandBus.dispatchRaw({ name: 'LegacyImport', payload: { file: 'users.csv' } });
   */
  dispatchRaw(message: object, options?: DispatchOptions): Promise<unknown> {
    return this.dispatchBounded(new DispatchContext(this.kind, message), options);
  }

  /** Detaches a plugin attached with {@link use}. */
  unuse(plugin: Plugin): void {
    if (!this.#plugins.delete(plugin)) return;
    plugin.detachFromBus(this);
  }

  /**
   * Runs one dispatch, bounded by its timeout, its signal and the deadline the message carries:
   * the deadline is stamped into a locally dispatched message's metadata (so it travels), the
   * context's `signal` fires and the dispatch rejects with `SWITCHYARD_TIMEOUT` /
   * `SWITCHYARD_ABORTED` when either ends it. Without any of the three it is just {@link run}.
   */
  protected dispatchBounded(
    context: DispatchContext,
    options: DispatchOptions | undefined,
  ): Promise<unknown> {
    const timeoutMs = options?.timeoutMs ?? this.#defaultTimeoutMs;
    const signal = options?.signal;
    const carried = deadlineOf(context.message);
    if (options?.handlerSignal !== undefined) context.handlerSignal = options.handlerSignal;
    if (options !== undefined) {
      try {
        context.delivery = deliveryOptionsOf(options);
      } catch (error) {
        return Promise.reject(new DispatchError(error, undefined, 'initialize'));
      }
    }
    if (this.correlation !== undefined) context.correlation = this.correlation;
    if (timeoutMs === undefined && signal === undefined && carried === undefined)
      return this.#observed(context);
    try {
      if (timeoutMs !== undefined) checkTimeout(timeoutMs, 'timeoutMs');
    } catch (error) {
      return Promise.reject(new DispatchError(error, undefined, 'initialize'));
    }
    const message = context.message;
    let deadline = carried;
    if (timeoutMs !== undefined) {
      const own = Date.now() + timeoutMs;
      if (deadline === undefined || own < deadline) {
        deadline = own;
        // The deadline travels with the message; one that arrived from a transport keeps its own.
        if (isMessage(message) && receivedFrom(message) === undefined) {
          context.message = withMetadata(message, { [DEADLINE]: deadline });
        }
      }
    }
    context.raceable = true;
    context.deadline = deadline;
    const label = (): string => context.messageName ?? nameOf(message);
    let onAbort: (() => void) | undefined;
    if (signal !== undefined) {
      if (signal.aborted) context.cancel(new AbortedError(label(), signal.reason));
      else {
        onAbort = () => context.cancel(new AbortedError(label(), signal.reason));
        signal.addEventListener('abort', onAbort, { once: true });
      }
    }
    let timer: NodeJS.Timeout | undefined;
    if (deadline !== undefined && context.cancelled === undefined) {
      const remaining = Math.max(0, deadline - Date.now());
      timer = setTimeout(() => context.cancel(new TimeoutError(label(), timeoutMs ?? remaining)), remaining);
    }
    if (context.cancelled !== undefined) {
      // Aborted before it started: no handler runs, nothing is sent.
      clearTimeout(timer);
      return Promise.reject(new DispatchError(context.cancelled, label(), 'initialize'));
    }
    let outcome = this.#observed(context);
    if (this.kind !== 'query') {
      // A query's deferred carries the cancellation; a command or event races its handlers.
      const cancelled = new Promise<never>((_, reject) => {
        context.whenCancelled((reason) =>
          reject(new DispatchError(reason, context.messageName, context.phase)),
        );
      });
      outcome = Promise.race([outcome, cancelled]);
    }
    return outcome.finally(() => {
      clearTimeout(timer);
      if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    });
  }

  /**
   * {@link run} observed (observability/observe-dispatch.ts): correlation and causation ids, the
   * handling scope, the installed instrumentation.
   */
  #observed(context: DispatchContext): Promise<unknown> {
    return observeDispatch(this.kind, context, this.#run);
  }

  readonly #run = (context: DispatchContext): Promise<unknown> => this.run(context);

  /**
   * Runs one dispatch through the pipeline; `settle` runs after the dispatch chain and before
   * finalize (the query bus waits for its deferred there). Resolves with `context.result`; rejects
   * with a {@link DispatchError}. Written without `async` so that a dispatch whose only asynchronous
   * step is the handler costs one extra promise, not one per phase.
   */
  protected run(context: DispatchContext): Promise<unknown> {
    let pending: void | Promise<void>;
    try {
      const dispatched = this.#pipeline.runDispatch(context);
      if (dispatched !== undefined) {
        return dispatched.then(
          (value) => {
            // A chain that ended with a query finder's promise resolved with its result.
            if (dispatched === context.pendingResult) {
              context.result = value;
              context.resultReady = true;
            }
            return this.#afterDispatch(context);
          },
          (error: unknown) => this.#finish(fail(context, error)),
        );
      }
      pending = this.settle(context);
    } catch (error) {
      return settleNow(() => this.#finish(fail(context, error)));
    }
    if (pending !== undefined) {
      return pending.then(
        () => this.#finish(context),
        (error: unknown) => this.#finish(fail(context, error)),
      );
    }
    return settleNow(() => this.#finish(context));
  }

  /** settle() then finalize, for a dispatch chain that went async. */
  #afterDispatch(context: DispatchContext): unknown {
    let settled: void | Promise<void>;
    try {
      settled = this.settle(context);
    } catch (error) {
      return this.#finish(fail(context, error));
    }
    if (settled === undefined) return this.#finish(context);
    return settled.then(
      () => this.#finish(context),
      (error: unknown) => this.#finish(fail(context, error)),
    );
  }

  /**
   * Runs finalize, then returns the result or throws the dispatch error — synchronously when no
   * finalize listener is async, so the caller's promise settles without extra ticks.
   */
  #finish(context: DispatchContext): unknown {
    context.propagationStopped = false;
    let pending: void | Promise<void>;
    try {
      pending = this.#pipeline.runFinalize(context);
    } catch (error) {
      context.error = error;
      context.errorPhase = 'finalize';
      return outcome(context);
    }
    if (pending === undefined) return outcome(context);
    return pending.then(
      () => outcome(context),
      (error: unknown) => {
        context.error = error;
        context.errorPhase = 'finalize';
        return outcome(context);
      },
    );
  }

  /** Checks the outcome after the dispatch chain (e.g. "no handler"); may be async. */
  protected abstract settle(context: DispatchContext): void | Promise<void>;
}

function fail(context: DispatchContext, error: unknown): DispatchContext {
  context.error = error;
  context.errorPhase = context.phase;
  return context;
}

/** Runs `finish` and turns its value or exception into a promise. */
function settleNow(finish: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(finish());
  } catch (error) {
    return Promise.reject(error);
  }
}

function outcome(context: DispatchContext): unknown {
  if (context.error === undefined) return context.result;
  throw new DispatchError(context.error, context.messageName, context.errorPhase);
}

function detectMessageName(context: DispatchContext): void {
  if (context.messageName !== undefined) return;
  const message = context.message;
  if (typeof message === 'object' && message !== null) {
    const name = (message as { name?: unknown }).name;
    if (typeof name === 'string' && name.length > 0) context.messageName = name;
    const kind = (message as { kind?: unknown }).kind;
    if (kind !== context.busKind && (kind === 'command' || kind === 'event' || kind === 'query')) {
      // A query on the command bus would otherwise fail later as a misleading "no handler".
      throw new InvalidMessageError(
        `"${String(name)}" is a ${kind}; dispatch it on the ${BUS_CLASS[kind]}, not the ${BUS_CLASS[context.busKind]}`,
      );
    }
  }
}

const BUS_CLASS: Readonly<Record<BusKind, string>> = {
  command: 'CommandBus',
  event: 'EventBus',
  query: 'QueryBus',
};

function checkTimeout(value: number, option: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigurationError(
      `${option} must be a finite number of milliseconds >= 0, got ${String(value)}`,
    );
  }
}

function nameOf(message: unknown): string {
  const name =
    typeof message === 'object' && message !== null ? (message as { name?: unknown }).name : undefined;
  return typeof name === 'string' ? name : 'an unnamed message';
}
