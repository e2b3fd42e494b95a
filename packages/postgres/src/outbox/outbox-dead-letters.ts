import {
  type AnyMessage,
  ConfigurationError,
  decodeDeadLetter,
  ErrorReporter,
  type ErrorReportingOptions,
  JsonCodec,
  type MessageCodec,
  type WireData,
} from '@switchyard/core';
import type { Pool, PoolClient } from 'pg';
import type { OpenedPool, PgConnection } from '../connection.ts';
import { DEFAULT_SCHEMA, quoteSchema } from '../migrate.ts';
import { acquireClient, asTransportError } from './acquire-client.ts';
import { openOutboxPool } from './outbox-pool.ts';
import { OutboxSql } from './outbox-sql.ts';

/** Options of {@link OutboxDeadLetters}. */
export interface OutboxDeadLettersOptions extends ErrorReportingOptions {
  /**
   * How to reach PostgreSQL: a `postgres://` URL, a node-postgres `PoolConfig`, or a `pg.Pool`. A
   * pool opened from a URL or config is ended by `close()`; a pool you pass is not.
   */
  readonly connection: PgConnection;
  /** The schema `migrate()` created the outbox tables in. @default 'switchyard' */
  readonly schema?: string | undefined;
  /** Decodes the envelopes for {@link OutboxDeadLetter.message}; the outbox's codec. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

/** One message the relay gave up on: what it carried and why it failed. */
export interface OutboxDeadLetter {
  /** The dead letter's id (its outbox position). Pass it to `get`/`replay`/`purge`. */
  readonly id: string;
  /** The message id. */
  readonly messageId: string;
  /** The message name. */
  readonly name: string;
  /** The relay target it was going to. */
  readonly target: string;
  /** Its stream. */
  readonly stream: string;
  /** Why the last attempt failed, e.g. `SWITCHYARD_TRANSPORT_ERROR: connect ECONNREFUSED 127.0.0.1:9`. */
  readonly failedReason: string;
  /** Attempts made before it was given up. */
  readonly attemptsMade: number;
  /** When it failed for the last time. */
  readonly failedAt: Date;
  /** The decoded message, or `undefined` when the envelope cannot be decoded (poison input). */
  readonly message: AnyMessage | undefined;
  /** The envelope as stored. */
  readonly envelope: WireData;
}

interface DeadRow {
  readonly id: string;
  readonly message_id: string;
  readonly name: string;
  readonly target: string;
  readonly stream: string;
  readonly envelope: string;
  readonly encoding: string | null;
  readonly attempts_made: number;
  readonly failed_reason: string;
  readonly failed_at: Date;
}

/**
 * The outbox's dead letters: messages whose target failed for good. List them with their error,
 * put one or all back into the outbox (at the end of their stream, attempts reset), or purge them —
 * the same API shape as `@switchyard/bullmq`'s `DeadLetters`. PostgreSQL failures reject with
 * `SWITCHYARD_TRANSPORT_ERROR`.
 *
 * @example
 * const deadLetters = new OutboxDeadLetters({ connection: pool });
 * for (const letter of await deadLetters.list()) console.log(letter.id, letter.name, letter.failedReason);
 * await deadLetters.replay(id);     // one, after fixing the cause
 * await deadLetters.replayAll();    // or all of them
 * await deadLetters.purge();        // or drop them
 */
export class OutboxDeadLetters {
  readonly #connection: PgConnection;
  readonly #errors: ErrorReporter;
  #opened: OpenedPool | undefined;
  readonly #sql: OutboxSql;
  readonly #codec: MessageCodec;

  /** Checks the options; connects nothing — the first call does. */
  constructor(options: OutboxDeadLettersOptions) {
    if (typeof options !== 'object' || options === null || options.connection === undefined) {
      throw new ConfigurationError(
        'OutboxDeadLetters: give a connection (a postgres:// URL, a PoolConfig or a pg.Pool)',
      );
    }
    this.#connection = options.connection;
    this.#errors = new ErrorReporter('OutboxDeadLetters', 'postgres', options);
    this.#sql = new OutboxSql(options.schema ?? DEFAULT_SCHEMA);
    this.#codec = options.codec ?? new JsonCodec();
  }

  /** How many dead letters there are. */
  async count(): Promise<number> {
    const result = await this.#query<{ count: number }>(this.#sql.deadCount, []);
    return result[0]?.count ?? 0;
  }

  /** Dead letters, newest first, `limit` from `offset`. @param limit @default 100 */
  async list(offset = 0, limit = 100): Promise<OutboxDeadLetter[]> {
    if (limit <= 0) return [];
    const rows = await this.#query<DeadRow>(this.#sql.deadList, [offset, limit]);
    return rows.map((row) => this.#toDeadLetter(row));
  }

  /** One dead letter by id, or `undefined`. */
  async get(id: string): Promise<OutboxDeadLetter | undefined> {
    if (!isId(id)) return undefined;
    const rows = await this.#query<DeadRow>(this.#sql.deadGet, [id]);
    return rows[0] === undefined ? undefined : this.#toDeadLetter(rows[0]);
  }

  /** Moves one dead letter back into the outbox (end of its stream, attempts reset). False when there is no such dead letter. */
  async replay(id: string): Promise<boolean> {
    if (!isId(id)) return false;
    return (await this.#replay([id])) === 1;
  }

  /** Moves every dead letter (up to `limit`) back into the outbox, oldest first; returns how many. */
  async replayAll(limit = Number.POSITIVE_INFINITY): Promise<number> {
    let replayed = 0;
    while (replayed < limit) {
      const page = await this.#query<{ id: string }>(
        `SELECT position::text AS id FROM ${quoteSchema(this.#sql.schema)}.outbox_dead_letters ORDER BY position LIMIT $1`,
        [Math.min(500, limit - replayed)],
      );
      if (page.length === 0) break;
      replayed += await this.#replay(page.map((row) => row.id));
    }
    return replayed;
  }

  /** Deletes one dead letter (`id`) or all of them; returns how many were deleted. */
  async purge(id?: string): Promise<number> {
    if (id !== undefined && !isId(id)) return 0;
    try {
      const result =
        id === undefined
          ? await this.#pool.query(this.#sql.deadPurgeAll)
          : await this.#pool.query(this.#sql.deadPurgeOne, [id]);
      return result.rowCount ?? 0;
    } catch (error) {
      throw asTransportError(error, 'OutboxDeadLetters: purge failed');
    }
  }

  /** Ends the pool opened from a URL or config (not a pool you passed). */
  async close(): Promise<void> {
    const opened = this.#opened;
    this.#opened = undefined;
    await opened?.close();
  }

  get #pool(): Pool {
    this.#opened ??= openOutboxPool(this.#connection, 10_000, 2, (error) =>
      this.#errors.report(error, 'connection'),
    );
    return this.#opened.pool;
  }

  async #replay(ids: readonly string[]): Promise<number> {
    let client: PoolClient | undefined;
    let broken: Error | undefined;
    try {
      client = await acquireClient(this.#pool, 10_000, 'OutboxDeadLetters');
      await client.query('BEGIN');
      const result = await client.query<{ count: number }>(this.#sql.deadReplay, [ids]);
      const count = result.rows[0]?.count ?? 0;
      if (count > 0) await client.query(this.#sql.notify);
      await client.query('COMMIT');
      return count;
    } catch (error) {
      broken = error as Error;
      await client?.query('ROLLBACK').catch(() => undefined);
      throw asTransportError(error, 'OutboxDeadLetters: replay failed');
    } finally {
      client?.release(broken);
    }
  }

  async #query<R>(text: string, values: readonly unknown[]): Promise<R[]> {
    try {
      const result = await this.#pool.query(text, values as unknown[]);
      return result.rows as R[];
    } catch (error) {
      throw asTransportError(error, 'OutboxDeadLetters: query failed');
    }
  }

  #toDeadLetter(row: DeadRow): OutboxDeadLetter {
    const envelope: WireData = row.encoding === 'base64' ? Buffer.from(row.envelope, 'base64') : row.envelope;
    return {
      id: row.id,
      messageId: row.message_id,
      name: row.name,
      target: row.target,
      stream: row.stream,
      failedReason: row.failed_reason,
      attemptsMade: row.attempts_made,
      failedAt: row.failed_at,
      message: decodeDeadLetter(this.#codec, envelope),
      envelope,
    };
  }
}

function isId(id: unknown): id is string {
  return typeof id === 'string' && /^\d{1,19}$/.test(id);
}
