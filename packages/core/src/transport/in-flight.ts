import { fulfilledWithin } from './fulfilled-within.ts';

/**
 * Counts the work a producer or consumer has in flight, and tells a closing component when it has
 * drained. One counter for every adapter, so "in flight" and "drained" mean the same everywhere.
 */
export class InFlight {
  #count = 0;
  #idle: (() => void) | undefined;
  #idlePromise: Promise<void> | undefined;

  /** Work in flight right now. */
  get size(): number {
    return this.#count;
  }

  /** One more piece of work started. */
  enter(): void {
    this.#count++;
  }

  /** One piece of work finished (however it ended). */
  leave(): void {
    this.#count--;
    if (this.#count === 0 && this.#idle !== undefined) {
      const idle = this.#idle;
      this.#idle = undefined;
      this.#idlePromise = undefined;
      idle();
    }
  }

  /** True once nothing is in flight, false if `timeoutMs` ran out first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.#count === 0) return Promise.resolve(true);
    this.#idlePromise ??= new Promise<void>((resolve) => {
      this.#idle = resolve;
    });
    return fulfilledWithin(this.#idlePromise, timeoutMs);
  }
}
