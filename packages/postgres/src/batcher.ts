/**
 * Collects items added in the same tick and hands them to `flush` together (one statement for many
 * rows); `add` settles with that flush. A larger burst is split into batches of at most `max`.
 */
export class Batcher<T> {
  readonly #flush: (items: T[]) => Promise<void>;
  readonly #max: number;
  #items: T[] = [];
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(flush: (items: T[]) => Promise<void>, max = 1_000) {
    this.#flush = flush;
    this.#max = max;
  }

  add(item: T): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#items.push(item);
      this.#waiters.push({ resolve, reject });
      if (this.#items.length === 1) setImmediate(this.#run);
    });
  }

  readonly #run = (): void => {
    const items = this.#items;
    const waiters = this.#waiters;
    this.#items = [];
    this.#waiters = [];
    for (let start = 0; start < items.length; start += this.#max) {
      const batch = waiters.slice(start, start + this.#max);
      this.#flush(items.slice(start, start + this.#max)).then(
        () => {
          for (const waiter of batch) waiter.resolve();
        },
        (error: unknown) => {
          for (const waiter of batch) waiter.reject(error);
        },
      );
    }
  };
}
