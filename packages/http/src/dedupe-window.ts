interface Entry<T> {
  readonly outcome: Promise<T>;
  /** When the entry may be forgotten; `Infinity` while the outcome is pending. */
  expiresAt: number;
}

/**
 * Remembers, by message id, the outcome of messages handled in the last `windowMs`, so a retried
 * POST of the same message gets the first answer instead of running the handler again. Best
 * effort: in memory, per process, bounded to `maxEntries` (the oldest are forgotten first).
 */
export class DedupeWindow<T> {
  readonly #entries = new Map<string, Entry<T>>();
  readonly #windowMs: number;
  readonly #maxEntries: number;

  constructor(windowMs: number, maxEntries: number) {
    this.#windowMs = windowMs;
    this.#maxEntries = maxEntries;
  }

  /** Entries currently remembered. */
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
   * Remembers `outcome` for `id`. With `keep` false the entry is dropped as soon as the outcome
   * settles (only concurrent duplicates share it); otherwise it stays for the window.
   */
  remember(id: string, outcome: Promise<T>, keep: boolean): void {
    this.#prune();
    const entry: Entry<T> = { outcome, expiresAt: Number.POSITIVE_INFINITY };
    this.#entries.set(id, entry);
    const settled = (): void => {
      if (!keep) {
        if (this.#entries.get(id) === entry) this.#entries.delete(id);
      } else entry.expiresAt = Date.now() + this.#windowMs;
    };
    outcome.then(settled, settled);
  }

  #prune(): void {
    const now = Date.now();
    for (const [id, entry] of this.#entries) {
      if (entry.expiresAt >= now && this.#entries.size < this.#maxEntries) break;
      this.#entries.delete(id);
    }
  }
}
