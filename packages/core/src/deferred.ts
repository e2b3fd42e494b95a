import { isThenable } from './is-thenable.ts';

/**
 * The abort reason of a settled deferred's signal: one shared object, because the default reason (a
 * DOMException with a stack) costs more than the query it cancels.
 */
const SETTLED: Error = Object.freeze(
  new Error('The deferred settled; the request is no longer needed'),
) as Error;

/**
 * A promise with its `resolve`/`reject` exposed, settled at most once. The query bus hands one to
 * the finder (or producer); the bus settles it with a timeout or abort error if the caller gives up
 * first, and whoever holds it can watch `settled` or `onSettled` to stop waiting for a late answer.
 */
export class Deferred<T> {
  /** The promise the caller awaits. */
  readonly promise: Promise<T>;
  /**
   * True when something besides its holder may settle it first — a caller's timeout or abort
   * signal — so the holder must watch `settled`/`onSettled` to stop work nobody waits for. False
   * when the holder is the only party that settles it (a query dispatched without timeout or
   * signal): there is nothing to watch for.
   * @default true
   */
  readonly raceable: boolean;
  #resolve!: (value: T | PromiseLike<T>) => void;
  #reject!: (reason: unknown) => void;
  #settled = false;
  /** One callback held as is (the common case), several in an array. */
  #callbacks: (() => void) | (() => void)[] | undefined;
  #controller: AbortController | undefined;

  constructor(options: { readonly raceable?: boolean } = {}) {
    this.raceable = options.raceable ?? true;
    this.promise = new Promise<T>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  /** True once `resolve` or `reject` was called. */
  get settled(): boolean {
    return this.#settled;
  }

  /**
   * An `AbortSignal` that aborts when the deferred settles — hand it to a transport request so the
   * request is cancelled when the caller times out or aborts. Created on first read.
   */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#settled) this.#controller.abort(SETTLED);
    }
    return this.#controller.signal;
  }

  /**
   * Resolves the promise; ignored if already settled. Returns whether this call settled it. Given a
   * promise, the deferred settles when that promise does — and a timeout or abort can still win
   * the race until then.
   */
  resolve(value: T | PromiseLike<T>): boolean {
    if (this.#settled) return false;
    if (isThenable(value)) {
      value.then(
        (result) => this.resolve(result),
        (error: unknown) => this.reject(error),
      );
      return false;
    }
    this.#settled = true;
    this.#resolve(value);
    this.#afterSettle();
    return true;
  }

  /** Rejects the promise; ignored if already settled. Returns whether this call settled it. */
  reject(reason: unknown): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.#reject(reason);
    this.#afterSettle();
    return true;
  }

  /** Runs `callback` once when the deferred settles (at once if it already has). */
  onSettled(callback: () => void): void {
    if (this.#settled) {
      callback();
      return;
    }
    const callbacks = this.#callbacks;
    if (callbacks === undefined) this.#callbacks = callback;
    else if (typeof callbacks === 'function') this.#callbacks = [callbacks, callback];
    else callbacks.push(callback);
  }

  #afterSettle(): void {
    this.#controller?.abort(SETTLED);
    const callbacks = this.#callbacks;
    if (callbacks === undefined) return;
    this.#callbacks = undefined;
    if (typeof callbacks === 'function') callbacks();
    else for (const callback of callbacks) callback();
  }
}
