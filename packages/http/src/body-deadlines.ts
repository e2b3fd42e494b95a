/** A body read waiting for its deadline; `cancel()` it once the read ended. */
export interface BodyDeadline {
  cancel(): void;
}

/** One read's deadline; a class, so a deadline costs one object and no closure. */
class Entry implements BodyDeadline {
  readonly at: number;
  readonly onTimeout: () => void;
  readonly #deadlines: BodyDeadlines;
  done = false;

  constructor(at: number, onTimeout: () => void, deadlines: BodyDeadlines) {
    this.at = at;
    this.onTimeout = onTimeout;
    this.#deadlines = deadlines;
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.#deadlines.cancelledOne();
  }
}

/**
 * The deadlines of a consumer's body reads, which all last `timeoutMs`: one timer for all of them
 * instead of a `setTimeout` + `clearTimeout` per request. Reads start in order, so their deadlines
 * come in order: a FIFO queue, the timer armed for its oldest live entry. A cancelled entry is
 * skipped when it reaches the head; the queue is compacted when most of it is cancelled, so it
 * stays bounded by the reads in progress even behind one slow sender.
 *
 * The timer stays armed when the queue empties (it is unref'd, and firing on an empty queue costs
 * less than a `setTimeout` + `clearTimeout` per read on a server that reads one body at a time), and
 * deadlines are read from `Date.now()` (`performance.now()` costs several times more per call).
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
    const entry = new Entry(Date.now() + this.#timeoutMs, onTimeout, this);
    this.#queue.push(entry);
    if (this.#timer === undefined) this.#arm(this.#timeoutMs);
    return entry;
  }

  /** @internal An entry was cancelled (called by {@link Entry.cancel}). */
  cancelledOne(): void {
    this.#cancelled++;
    const queue = this.#queue;
    while (this.#head < queue.length && queue[this.#head]!.done) {
      this.#head++;
      this.#cancelled--;
    }
    if (this.#head === queue.length) {
      // Nothing waits: reset the queue in place; the armed timer finds it empty and stops.
      queue.length = 0;
      this.#head = 0;
      this.#cancelled = 0;
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
    const now = Date.now();
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
      this.#queue.length = 0;
      this.#head = 0;
      this.#cancelled = 0;
    } else {
      this.#arm(this.#queue[this.#head]!.at - now);
    }
  };
}
