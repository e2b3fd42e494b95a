interface Entry<T> {
  readonly outcome: Promise<T>;
  /** When the entry may be forgotten; `Infinity` while the outcome is pending. */
  expiresAt: number;
}

/**
 * Remembers, by message id, the outcome of messages handled in the last `windowMs`, so a retried
 * POST of the same message gets the first answer instead of running the handler again. Best
 * effort: in memory, per process, bounded to `maxEntries` settled entries (the oldest are forgotten
 * first). An entry still in progress is never forgotten — a duplicate arriving meanwhile shares it —
 * and an outcome worth retrying (a transient failure) is not remembered at all.
 */
export class DedupeWindow<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #windowMs: number;
  readonly #maxEntries: number;

  constructor(windowMs: number, maxEntries: number) {
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
  }

  /** Entries currently remembered, in progress or settled. */
  get size(): number {
    return this.#entries.size;
  }

  /** The outcome of an earlier message with this id, pending or settled, if still remembered. */
  get(id: string): Promise<T> | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt < Date.now()) {
      this.#entries.delete(id);
      return undefined;
    }
    return entry.outcome;
  }

  /**
   * Remembers `outcome` for `id` while it runs; once it settles, `keep(value)` decides whether it is
   * remembered for the window (true) or forgotten at once (false: only concurrent duplicates shared
   * it). A rejected outcome is forgotten.
   */
  remember(id: string, outcome: Promise<T>, keep: (value: T) => boolean): void {
    this.#prune();
    const entry: Entry<T> = { outcome, expiresAt: Number.POSITIVE_INFINITY };
    this.#entries.set(id, entry);
    const forget = (): void => {
      if (this.#entries.get(id) === entry) this.#entries.delete(id);
    };
    outcome.then((value) => {
      if (keep(value)) entry.expiresAt = Date.now() + this.#windowMs;
      else forget();
    }, forget);
  }

  /** Forgets expired entries, then the oldest settled ones while over the bound. */
  #prune(): void {
    const now = Date.now();
    let over = this.#entries.size - this.#maxEntries + 1;
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt === Number.POSITIVE_INFINITY) continue; // in progress: never evicted
      if (entry.expiresAt < now || over > 0) {
        this.#entries.delete(id);
        over--;
      } else break;
    }
  }
}
