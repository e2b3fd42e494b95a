import { ConfigurationError, type DispatchPhase } from './errors.ts';
import { isThenable } from './is-thenable.ts';

/**
 * prooph's action-event priorities. Higher runs first. A listener between two of them counts as
 * part of the phase that started last: 199000 (after the routers, before locating) is `route`,
 * 1000 is `locate-handler`, 0 and below are `invoke-handler`.
 */
export const Priority = {
  initialize: 400_000,
  detectMessageName: 300_000,
  route: 200_000,
  locateHandler: 100_000,
  invokeHandler: 0,
} as const;

/** The two action events of a bus: `dispatch` (the phases) and `finalize` (always runs). */
export type BusEvent = 'dispatch' | 'finalize';

/** A pipeline listener. It may return a promise; the pipeline awaits it before the next listener. */
export type Listener<Context> = (context: Context) => unknown;

/** What `attach` returns; pass it to `detach`. */
export interface ListenerHandle {
  readonly event: BusEvent;
  readonly priority: number;
}

interface Entry<Context> extends ListenerHandle {
  readonly listener: Listener<Context>;
  readonly phase: DispatchPhase;
  readonly sequence: number;
}

/** The phase a dispatch listener at `priority` belongs to. */
export function phaseOf(priority: number): DispatchPhase {
  if (priority > Priority.detectMessageName) return 'initialize';
  if (priority > Priority.route) return 'detect-message-name';
  if (priority > Priority.locateHandler) return 'route';
  if (priority > Priority.invokeHandler) return 'locate-handler';
  return 'invoke-handler';
}

/** The part of a context the pipeline drives: the phase it is in and whether propagation stopped. */
export interface PipelineState {
  phase: DispatchPhase;
  propagationStopped: boolean;
}

/**
 * Ordered listeners for the two bus events. The chains are compiled (sorted) on attach/detach, so
 * a dispatch only walks an array. Listeners of equal priority run in attach order.
 */
export class Pipeline<Context extends PipelineState> {
  #sequence = 0;
  #dispatch: readonly Entry<Context>[] = [];
  #finalize: readonly Entry<Context>[] = [];

  attach(event: BusEvent, listener: Listener<Context>, priority: number): ListenerHandle {
    if (event !== 'dispatch' && event !== 'finalize') {
      throw new ConfigurationError(`Unknown bus event "${String(event)}"; use "dispatch" or "finalize"`);
    }
    if (typeof listener !== 'function') throw new ConfigurationError('A listener must be a function');
    if (!Number.isFinite(priority))
      throw new ConfigurationError('A listener priority must be a finite number');
    const entry: Entry<Context> = {
      event,
      priority,
      listener,
      phase: event === 'finalize' ? 'finalize' : phaseOf(priority),
      sequence: this.#sequence++,
    };
    if (event === 'dispatch') this.#dispatch = compile([...this.#dispatch, entry]);
    else this.#finalize = compile([...this.#finalize, entry]);
    return entry;
  }

  /** Removes a listener; returns false if it was not attached. */
  detach(handle: ListenerHandle): boolean {
    const chain = handle.event === 'dispatch' ? this.#dispatch : this.#finalize;
    const next = chain.filter((entry) => entry !== handle);
    if (next.length === chain.length) return false;
    if (handle.event === 'dispatch') this.#dispatch = next;
    else this.#finalize = next;
    return true;
  }

  /** Runs the dispatch chain; resolves synchronously (returns undefined) when no listener is async. */
  runDispatch(context: Context): void | Promise<void> {
    return run(this.#dispatch, context, 0);
  }

  /** Runs the finalize chain. */
  runFinalize(context: Context): void | Promise<void> {
    return run(this.#finalize, context, 0);
  }
}

/**
 * Sorts a chain. Not frozen (the chains are private and replaced, never changed): optimized code
 * loads from a plain array inline, while a frozen array's elements went through a generic keyed
 * load per listener.
 */
function compile<Context>(entries: Entry<Context>[]): readonly Entry<Context>[] {
  return entries.sort((a, b) => b.priority - a.priority || a.sequence - b.sequence);
}

function run<Context extends PipelineState>(
  chain: readonly Entry<Context>[],
  context: Context,
  from: number,
): void | Promise<void> {
  for (let index = from; index < chain.length; index++) {
    const entry = chain[index]!;
    context.phase = entry.phase;
    const result = entry.listener(context);
    if (isThenable(result)) {
      // The last listener (normally the handler): its promise is all that is left to wait for. A
      // native promise is returned as it is, so the query bus can read its finder's value from it.
      if (index + 1 === chain.length) return Promise.resolve(result) as Promise<unknown> as Promise<void>;
      return resume(chain, context, index + 1, result);
    }
    if (context.propagationStopped) return;
  }
}

async function resume<Context extends PipelineState>(
  chain: readonly Entry<Context>[],
  context: Context,
  from: number,
  pending: PromiseLike<unknown>,
): Promise<void> {
  const phase = context.phase;
  await pending;
  // A listener that awaited must not lose its phase to a later one if it is the one that threw.
  context.phase = phase;
  if (context.propagationStopped) return;
  return run(chain, context, from);
}
