import type { Answer } from './http-answer.ts';

/** The state of a message accepted asynchronously. */
export type AsyncState = 'pending' | 'handled' | 'failed';

/** One message accepted asynchronously, by id. */
export interface StatusEntry {
  readonly id: string;
  /** SHA-256 of the request body: a repeat with the same id but another body is not a retry. */
  readonly bodyHash: string;
  /** Fires the handler's `signal` (a `DELETE` of the status, the consumer closing undrained). */
  readonly controller: AbortController;
  state: AsyncState;
  /** The JSON status document (pending until settled). */
  document: string;
  /** The answer the synchronous path would have given, once settled. */
  answer: Answer | undefined;
  /** When a settled entry may be forgotten; `Infinity` while pending. */
  expiresAt: number;
  /** Resolves when the entry settles. */
  readonly settled: Promise<void>;
  readonly resolve: () => void;
}

/**
 * Statuses of messages accepted asynchronously, by message id. Bounded: a settled entry is kept for
 * `ttlMs`, and at most `maxEntries` entries are kept — the oldest settled ones are forgotten first;
 * a pending entry is never forgotten (they are bounded by the consumer's `concurrency`, since each
 * one is a handler running). Expired entries are swept by an unref'd timer as well as on access.
 */
export class StatusStore {
  readonly #entries = new Map<string, StatusEntry>();
  /** Settled entries in the order they settled, which is expiry order (one TTL for all). */
  readonly #settled = new Map<string, StatusEntry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(ttlMs: number, maxEntries: number) {
    this.#ttlMs = ttlMs;
    this.#maxEntries = maxEntries;
  }

  /** Entries kept, pending or settled. */
  get size(): number {
    return this.#entries.size;
  }

  /** The live entry for `id`, or `undefined` if unknown or expired. */
  get(id: string): StatusEntry | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      this.#forget(entry);
      return undefined;
    }
    return entry;
  }

  /** Adds a pending entry; `undefined` when the store is full of pending entries. */
  add(id: string, bodyHash: string): StatusEntry | undefined {
    this.#prune(1);
    if (this.#entries.size >= this.#maxEntries) return undefined;
    let resolve!: () => void;
    const settled = new Promise<void>((done) => {
      resolve = done;
    });
    const entry: StatusEntry = {
      id,
      bodyHash,
      controller: new AbortController(),
      state: 'pending',
      document: JSON.stringify({ id, state: 'pending' }),
      answer: undefined,
      expiresAt: Number.POSITIVE_INFINITY,
      settled,
      resolve,
    };
    this.#entries.set(id, entry);
    return entry;
  }

  /** Records the outcome; the entry is kept `ttlMs` from now. */
  settle(entry: StatusEntry, state: 'handled' | 'failed', document: string, answer: Answer): void {
    entry.state = state;
    entry.document = document;
    entry.answer = answer;
    entry.expiresAt = Date.now() + this.#ttlMs;
    if (this.#entries.get(entry.id) === entry) {
      this.#settled.set(entry.id, entry);
      this.#armSweeper();
    }
    entry.resolve();
  }

  /** Fires the signal of every pending handler (the consumer is closing without draining). */
  abortPending(reason: Error): void {
    for (const entry of this.#entries.values()) {
      if (entry.state === 'pending') entry.controller.abort(reason);
    }
  }

  /** Stops the sweeper and forgets everything. */
  clear(): void {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    this.#entries.clear();
    this.#settled.clear();
  }

  #forget(entry: StatusEntry): void {
    if (this.#entries.get(entry.id) === entry) this.#entries.delete(entry.id);
    if (this.#settled.get(entry.id) === entry) this.#settled.delete(entry.id);
  }

  /** Forgets expired entries, then the oldest settled ones until `room` more fit. */
  #prune(room: number): void {
    const now = Date.now();
    for (const entry of this.#settled.values()) {
      const over = this.#entries.size + room > this.#maxEntries;
      if (entry.expiresAt > now && !over) break;
      this.#forget(entry);
    }
  }

  #armSweeper(): void {
    if (this.#sweeper !== undefined) return;
    this.#sweeper = setInterval(
      () => {
        this.#prune(0);
        if (this.#settled.size === 0 && this.#sweeper !== undefined) {
          clearInterval(this.#sweeper);
          this.#sweeper = undefined;
        }
      },
      Math.max(1_000, Math.min(this.#ttlMs, 60_000)),
    );
    this.#sweeper.unref();
  }
}
