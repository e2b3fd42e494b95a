import type { Reply } from '../codec/message-codec.ts';
import type { Deferred } from '../deferred.ts';
import { RemoteError, TimeoutError } from '../errors.ts';

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
  readonly timer: NodeJS.Timeout;
}

/**
 * The producer side of remote queries: queries waiting for their reply, by message id. Every
 * transport that carries replies on a separate channel (BullMQ, ZeroMQ, in-memory) keeps one.
 * Entries leave the map when the reply comes, when the caller times out or aborts (the deferred
 * settles), or on `rejectAll` at close — a late reply finds nothing and is dropped.
 */
export class PendingReplies {
  readonly #pending = new Map<string, Pending>();
  readonly #timeoutMs: number;

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

  /** Registers a query before it is sent. */
  add(
    messageId: string,
    messageName: string,
    deferred: Deferred<unknown>,
    timeoutMs = this.#timeoutMs,
  ): void {
    const timer = setTimeout(() => deferred.reject(new TimeoutError(messageName, timeoutMs)), timeoutMs);
    this.#pending.set(messageId, { name: messageName, deferred, timer });
    deferred.onSettled(() => {
      clearTimeout(timer);
      const entry = this.#pending.get(messageId);
      if (entry?.deferred === deferred) this.#pending.delete(messageId);
    });
  }

  /** Settles the query a reply belongs to. Returns false for a reply nobody waits for (late or foreign). */
  settle(reply: Reply): boolean {
    const entry = this.#pending.get(reply.inReplyTo);
    if (entry === undefined) return false;
    if (reply.ok) entry.deferred.resolve(reply.result);
    else entry.deferred.reject(new RemoteError(reply.error));
    return true;
  }

  /** Rejects one waiting query (e.g. its send failed). */
  reject(messageId: string, error: unknown): void {
    this.#pending.get(messageId)?.deferred.reject(error);
  }

  /** Rejects every waiting query (on close or connection loss). */
  rejectAll(error: unknown): void {
    for (const entry of [...this.#pending.values()]) entry.deferred.reject(error);
  }
}
