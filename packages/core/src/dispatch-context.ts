import type { Deferred } from './deferred.ts';
import type { DispatchPhase } from './errors.ts';
import type { BusKind } from './message-bus.ts';
import type { PipelineState } from './pipeline.ts';

/**
 * The state one dispatch carries through the pipeline. Listeners read and write it: routers set
 * `target` (commands, queries) or `targets` (events), the service locator replaces string ids,
 * invoke strategies turn handler objects into functions, the bus invokes.
 */
export class DispatchContext implements PipelineState {
  /** The dispatched value (normally a {@link Message}). */
  readonly message: unknown;
  /** Which bus is dispatching. */
  readonly busKind: BusKind;
  /** The message name; set by the detect-message-name phase. */
  messageName: string | undefined = undefined;
  /** Command/query bus: the one routed target (handler, service id, object or producer). */
  target: unknown = undefined;
  /** Event bus: the routed listeners, in order. */
  targets: unknown[] = [];
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
  /** Query bus: the deferred the finder or producer settles. */
  readonly deferred: Deferred<unknown> | undefined;
  /** Query bus: the result, once the deferred resolved. */
  result: unknown = undefined;
  #params: Map<string, unknown> | undefined;

  constructor(busKind: BusKind, message: unknown, deferred?: Deferred<unknown>) {
    this.busKind = busKind;
    this.message = message;
    this.deferred = deferred;
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
