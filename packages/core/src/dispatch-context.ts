import { Deferred } from './deferred.ts';
import type { DeliveryOptions } from './delivery-options.ts';
import type { HandlerContext } from './dispatch-options.ts';
import type { DispatchPhase } from './errors.ts';
import type { BusKind } from './message-bus.ts';
import type { PipelineState } from './pipeline.ts';

/**
 * The state one dispatch carries through the pipeline. Listeners read and write it: routers set
 * `target` (commands, queries) or `targets` (events), the service locator replaces string ids,
 * invoke strategies turn handler objects into functions, the bus invokes.
 */
export class DispatchContext implements PipelineState, HandlerContext {
  /**
   * The dispatched value (normally a {@link Message}). The bus replaces it once, before the
   * pipeline runs, with a copy that carries the deadline when the dispatch has a `timeoutMs`.
   */
  message: unknown;
  /** The dispatch's deadline (ms since the epoch), from `timeoutMs` or the message's own deadline. */
  deadline: number | undefined = undefined;
  /** Which bus is dispatching. */
  readonly busKind: BusKind;
  /** The message name; set by the detect-message-name phase. */
  messageName: string | undefined = undefined;
  /** Command/query bus: the one routed target (handler, service id, object or producer). */
  target: unknown = undefined;
  /** Event bus: the routed listeners, in order (the array is created on first use). */
  get targets(): unknown[] {
    this.#targets ??= [];
    return this.#targets;
  }
  set targets(targets: unknown[]) {
    this.#targets = targets;
  }
  /** True once a handler (or producer) took the message. */
  handled = false;
  /** The error of the dispatch so far; a finalize listener may clear it by setting `undefined`. */
  error: unknown = undefined;
  /** The phase in which `error` was raised. */
  errorPhase: DispatchPhase = 'initialize';
  /** The phase the pipeline is in. */
  phase: DispatchPhase = 'initialize';
  /** Set by `stopPropagation()`: the rest of the dispatch chain is skipped; finalize still runs. */
  propagationStopped = false;
  /** Event bus: run every listener and throw one aggregate error (see ListenerExceptionCollectionMode). */
  collectListenerErrors = false;
  /** Query bus: the result, once known. */
  result: unknown = undefined;
  /**
   * Query bus: true once `result` holds the finder's answer without going through the deferred (a
   * value-returning finder on a dispatch that nothing can race: no timeout, no signal).
   */
  resultReady = false;
  /**
   * Query bus: the promise of a value-returning finder on a dispatch nothing can race. The bus reads
   * the result from it after the dispatch chain (when the chain ends with it, from the very promise
   * the chain awaited) and then sets `result` and `resultReady`.
   */
  pendingResult: PromiseLike<unknown> | undefined = undefined;
  /** A timeout or abort signal may end the dispatch first (queries: results must go through the deferred). */
  raceable = false;
  /** Why the dispatch was cut short (a `TimeoutError` or `AbortedError`), once it was. */
  cancelled: unknown = undefined;
  /**
   * Call local handlers in the handling scope (correlation and causation ids): the bus's
   * `correlation` option; `undefined` is automatic (see `enableHandlingScope`).
   */
  correlation: boolean | undefined = undefined;
  /** The dispatch's per-message delivery options (`delayMs`, `priority`, `dedupeKey`), or `undefined`. */
  delivery: DeliveryOptions | undefined = undefined;
  /**
   * A signal from outside the dispatch that the handlers' `signal` follows, or the function that
   * makes it on first read (see `handlerSignal`).
   */
  handlerSignal: AbortSignal | (() => AbortSignal) | undefined = undefined;
  #targets: unknown[] | undefined;
  #deferred: Deferred<unknown> | undefined;
  #abort: AbortController | undefined;
  #onCancel: ((reason: unknown) => void) | undefined;
  #params: Map<string, unknown> | undefined;

  constructor(busKind: BusKind, message: unknown) {
    this.busKind = busKind;
    this.message = message;
  }

  /**
   * Query bus: the deferred the finder or producer settles, created on first use (a value-returning
   * local finder never needs one). Its rejections are always observed, so a timeout or a producer's
   * reply timeout that fires while the pipeline is busy never becomes an unhandled rejection.
   */
  get deferred(): Deferred<unknown> {
    if (this.#deferred === undefined) {
      this.#deferred = new Deferred<unknown>({ raceable: this.raceable });
      this.#deferred.promise.catch(ignore);
    }
    return this.#deferred;
  }

  /**
   * Fires when the dispatch is cut short (timeout, abort). Created on first read, so a handler that
   * never looks costs nothing.
   */
  get signal(): AbortSignal {
    if (this.#abort !== undefined) return this.#abort.signal;
    let outer = this.handlerSignal;
    if (typeof outer === 'function') {
      outer = outer();
      this.handlerSignal = outer;
    }
    // Nothing can cut this dispatch short: the outer signal is the handler's signal as it is.
    if (outer !== undefined && !this.raceable) return outer;
    const controller = new AbortController();
    this.#abort = controller;
    if (this.cancelled !== undefined) controller.abort(this.cancelled);
    else if (outer !== undefined) {
      if (outer.aborted) controller.abort(outer.reason);
      else outer.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
    }
    return controller.signal;
  }

  /**
   * Ends the dispatch with `reason` (the bus calls it at the deadline or on abort): fires `signal`,
   * rejects a query's deferred, and rejects a command's or event's wait. Only the first call counts.
   */
  cancel(reason: unknown): void {
    if (this.cancelled !== undefined) return;
    this.cancelled = reason;
    // The dispatch settles first: a handler that returns as soon as its signal fires must not win.
    if (this.busKind === 'query') this.deferred.reject(reason);
    this.#onCancel?.(reason);
    this.#abort?.abort(reason);
  }

  /**
   * Calls `onCancel` when {@link cancel} is called (for buses that race their handlers); at once if
   * it already was.
   */
  whenCancelled(onCancel: (reason: unknown) => void): void {
    if (this.cancelled !== undefined) onCancel(this.cancelled);
    else this.#onCancel = onCancel;
  }

  /** True once the deferred was created. */
  get hasDeferred(): boolean {
    return this.#deferred !== undefined;
  }

  /** Skip the remaining dispatch listeners (finalize listeners still run). */
  stopPropagation(): void {
    this.propagationStopped = true;
  }

  /** Free-form values plugins share during one dispatch. */
  get params(): Map<string, unknown> {
    this.#params ??= new Map();
    return this.#params;
  }
}

function ignore(): void {}
