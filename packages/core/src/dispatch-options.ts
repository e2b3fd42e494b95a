import type { DeliveryOptions } from './delivery-options.ts';

/**
 * Options of one `dispatch` on any bus: its bounds (`timeoutMs`, `signal`) and, for messages routed
 * to a transport that supports them, per-message delivery options (`delayMs`, `priority`,
 * `dedupeKey`; see {@link DeliveryOptions}).
 */
export interface DispatchOptions extends DeliveryOptions {
  /**
   * Reject with `SWITCHYARD_TIMEOUT` if the dispatch has not settled after this many milliseconds.
   * The deadline travels with the message (metadata `switchyard.deadline`): a consumer refuses the
   * message once it has passed, and the remote handler's `signal` fires at it.
   * @default the bus's `defaultTimeoutMs` (none unless set)
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Reject with `SWITCHYARD_ABORTED` when this signal aborts; the handler's `signal` fires too (over
   * HTTP the request is cancelled, so the remote handler's signal fires as well).
   * @default undefined
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * A signal handed on to the handlers (their `context.signal` fires with it) that does not bound
   * the dispatch itself. Consumers pass the transport's "the caller went away" here: the handler
   * can stop, and nothing waits for the answer anyway. Costs nothing unless a handler reads its
   * signal. A function instead of a signal is called (once) only when a handler first reads its
   * signal, so a consumer that would have to build one per message (an `AbortController`, a
   * listener) builds none for handlers that never look.
   * @default undefined
   */
  readonly handlerSignal?: AbortSignal | (() => AbortSignal) | undefined;
}

/**
 * The second argument every handler, listener and finder is called with.
 *
 * @example
 * router.route(GetReport).to(async (query, { signal }) => db.query(sql, { signal }));
 */
export interface HandlerContext {
  /**
   * Fires when nobody waits for the outcome any more: the dispatch's deadline passed or its caller
   * aborted — also when the message came from another process, where the transport can tell.
   * Never fires for a dispatch without `timeoutMs` or `signal`.
   */
  readonly signal: AbortSignal;
  /** The dispatch's deadline in milliseconds since the Unix epoch, or `undefined`. */
  readonly deadline: number | undefined;
}
