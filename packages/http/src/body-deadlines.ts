/** A body read waiting for its deadline; `cancel()` it once the read ended. */
export interface BodyDeadline {
  cancel(): void;
}

interface Entry extends BodyDeadline {
  readonly at: number;
  readonly onTimeout: () => void;
  done: boolean;
}

/**
 * The deadlines of a consumer's body reads, which all last `timeoutMs`: one timer for all of them
 * instead of a `setTimeout` + `clearTimeout` per request. Reads start in order, so their deadlines
 * come in order: a FIFO queue, the timer armed for its oldest live entry. A cancelled entry is
 * skipped when it reaches the head; the queue is compacted when most of it is cancelled, so it
 * stays bounded by the reads in progress even behind one slow sender.
 */
export class BodyDeadlines {
  readonly #timeoutMs: number;
  #queue: Entry[] = [];
  #head = 0;
  #cancelled = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Reads waiting (for tests and metrics). */
  get pending(): number {
    return this.#queue.length - this.#head - this.#cancelled;
  }

  /** Calls `onTimeout` in `timeoutMs` unless the returned deadline is cancelled first. */
  start(onTimeout: () => void): BodyDeadline {
    const deadlines = this;
    const entry: Entry = {
      at: performance.now() + this.#timeoutMs,
      onTimeout,
      done: false,
      cancel() {
        if (entry.done) return;
        entry.done = true;
        deadlines.#cancelledOne();
      },
    };
    this.#queue.push(entry);
    if (this.#timer === undefined) this.#arm(this.#timeoutMs);
    return entry;
  }

  #cancelledOne(): void {
    this.#cancelled++;
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head]!.done) {
      this.#head++;
      this.#cancelled--;
    }
    if (this.#head === queue.length) {
      this.#queue = [];
      this.#head = 0;
      this.#cancelled = 0;
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else if (this.#cancelled > 1_024 && this.#cancelled * 2 > queue.length - this.#head) {
      this.#queue = queue.slice(this.#head).filter((pending) => !pending.done);
      this.#head = 0;
      this.#cancelled = 0;
    }
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(this.#fire, Math.max(0, delayMs));
    this.#timer.unref();
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    const now = performance.now();
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const entry = queue[this.#head]!;
      if (entry.done) {
        this.#head++;
        this.#cancelled--;
        continue;
      }
      if (entry.at > now) break;
      this.#head++;
      entry.done = true;
      entry.onTimeout();
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
      this.#cancelled = 0;
    } else {
      this.#arm(this.#queue[this.#head]!.at - now);
    }
  };
}
