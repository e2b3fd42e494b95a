import type { Reply } from '../codec/message-codec.ts';
import type { Deferred } from '../deferred.ts';
import { errorFromReply, TimeoutError, TransportError } from '../errors.ts';

/** Options of {@link PendingReplies}. */
export interface PendingRepliesOptions {
  /**
   * How long to wait for a reply before rejecting the query with `SWITCHYARD_TIMEOUT`. A reply that
   * never comes must not leave a caller waiting forever, whatever timeout the caller gave.
   * @default 30_000
   */
  readonly timeoutMs?: number;
}

interface Pending {
  readonly name: string;
  readonly deferred: Deferred<unknown>;
  readonly deadline: number;
  readonly timeoutMs: number;
  /** Only for a query with its own timeout; the rest share one timer. */
  readonly timer: NodeJS.Timeout | undefined;
}

/**
 * The producer side of remote queries: queries waiting for their reply, by message id. Every
 * transport that carries replies on a separate channel (BullMQ, ZeroMQ, in-memory) keeps one.
 * Entries leave the map when the reply comes, when the caller times out or aborts (the deferred
 * settles), or on `rejectAll` at close — a late reply finds nothing and is dropped.
 *
 * Queries with the default timeout share one timer: they are kept in insertion order, which is
 * deadline order, and the timer is armed for the oldest. That keeps a query's bookkeeping to a map
 * entry, whatever the number in flight.
 */
export class PendingReplies {
  readonly #pending = new Map<string, Pending>();
  readonly #timeoutMs: number;
  #timer: NodeJS.Timeout | undefined;
  #holding = false;

  constructor(options: PendingRepliesOptions = {}) {
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  /** Queries waiting for a reply. */
  get size(): number {
    return this.#pending.size;
  }

  /** True if a query with this id is waiting. */
  has(messageId: string): boolean {
    return this.#pending.has(messageId);
  }

  /**
   * Registers a query before it is sent. `timeoutMs` overrides the default for this one query.
   * Returns false — and rejects `deferred` with `SWITCHYARD_TRANSPORT_ERROR` — when a query with the
   * same id is already waiting: its reply could not tell the two apart, so do not send this one.
   */
  add(
    messageId: string,
    messageName: string,
    deferred: Deferred<unknown>,
    timeoutMs = this.#timeoutMs,
  ): boolean {
    if (this.#pending.has(messageId)) {
      deferred.reject(
        new TransportError(
          `A query with id "${messageId}" is already waiting for its reply; message ids must be unique`,
        ),
      );
      return false;
    }
    const pending = this.#pending;
    const shared = timeoutMs === this.#timeoutMs;
    const timer = shared
      ? undefined
      : setTimeout(() => deferred.reject(new TimeoutError(messageName, timeoutMs)), timeoutMs);
    const entry: Pending = {
      name: messageName,
      deferred,
      deadline: Date.now() + timeoutMs,
      timeoutMs,
      timer,
    };
    pending.set(messageId, entry);
    if (shared) {
      if (this.#timer === undefined) this.#arm(entry.deadline);
      else if (!this.#holding) this.#hold(true);
    }
    // Runs inside settle, while the entry is still in the map (a duplicate id never replaces it).
    deferred.onSettled(() => {
      if (entry.timer !== undefined) clearTimeout(entry.timer);
      pending.delete(messageId);
      if (pending.size === 0 && this.#holding) this.#hold(false);
    });
    return true;
  }

  /** Settles the query a reply belongs to. Returns false for a reply nobody waits for (late or foreign). */
  settle(reply: Reply): boolean {
    const entry = this.#pending.get(reply.inReplyTo);
    if (entry === undefined) return false;
    if (reply.ok) entry.deferred.resolve(reply.result);
    else entry.deferred.reject(errorFromReply(entry.name, reply.error));
    return true;
  }

  /** Rejects one waiting query (e.g. its send failed). */
  reject(messageId: string, error: unknown): void {
    this.#pending.get(messageId)?.deferred.reject(error);
  }

  /** Rejects every waiting query (on close or connection loss). */
  rejectAll(error: unknown): void {
    for (const entry of [...this.#pending.values()]) entry.deferred.reject(error);
    this.#disarm();
  }

  #arm(deadline: number): void {
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, deadline - Date.now()));
    this.#holding = true;
  }

  /**
   * The shared timer stays armed when the last query leaves (re-arming it per query costs more than
   * letting it fire on an empty map); it only stops holding the process open while nothing waits.
   */
  #hold(holding: boolean): void {
    this.#holding = holding;
    if (holding) this.#timer?.ref();
    else this.#timer?.unref();
  }

  #disarm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#holding = false;
  }

  /** Rejects every shared-timer query whose deadline passed, then re-arms for the next one. */
  #expire(): void {
    this.#timer = undefined;
    this.#holding = false;
    const now = Date.now();
    for (const entry of [...this.#pending.values()]) {
      if (entry.timer !== undefined) continue;
      if (entry.deadline > now) {
        this.#arm(entry.deadline);
        return;
      }
      entry.deferred.reject(new TimeoutError(entry.name, entry.timeoutMs));
    }
  }
}
