import {
  ConfigurationError,
  type DeadLetterQueue,
  type DeadLetterRecord,
  decodeDeadLetter,
  ErrorReporter,
  type ErrorReportingOptions,
  JsonCodec,
  type MessageCodec,
  type WireData,
} from '@switchyard/core';
import type pg from 'pg';
import { type OpenedPool, openPool, type PgConnection } from './connection.ts';
import { checkSchemaName, DEFAULT_SCHEMA, requireMigrated } from './migrate.ts';
import { checkQueueName } from './postgres-wire.ts';
import { channels, QUEUE_VERSION, type QueueSql, queueSql } from './queue-sql.ts';
import { fromStored } from './wire-format.ts';

/** Options of {@link DeadLetters}: the queue whose dead letters to manage. */
export interface DeadLettersOptions extends ErrorReportingOptions {
  /** A `postgres://` URL, a node-postgres `PoolConfig`, or an existing `pg.Pool` (not ended by `close()`). */
  readonly connection: PgConnection;
  /** The queue (the producer's and consumer's `queueName`). */
  readonly queueName: string;
  /** The schema `migrate()` created. @default 'switchyard' */
  readonly schema?: string | undefined;
  /** Decodes the envelopes for {@link DeadLetter.message}; use the producer's codec. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

/** One dead message: what it carried and why it failed (core's `DeadLetterRecord`, named by its message id). */
export interface DeadLetter extends DeadLetterRecord {
  /** The message id (for a hand-inserted row, whatever its `message_id` says). Pass it to `replay`/`purge`. */
  readonly messageId: string;
}

interface DeadRow {
  readonly message_id: string;
  readonly name: string;
  readonly envelope: string;
  readonly encoding: string | null;
  readonly failed_reason: string | null;
  readonly attempts_made: number;
  readonly failed_at: Date | null;
}

const COLUMNS = 'message_id, name, envelope, encoding, failed_reason, attempts_made, failed_at';

/**
 * The dead letters of a Postgres queue: its rows in state `dead`. List them with their error, put
 * one or all back in the queue (attempts reset, the consumers woken), or purge them — the same API
 * as `@switchyard/bullmq`'s `DeadLetters`.
 *
 * @example
 * const deadLetters = new DeadLetters({ connection: pool, queueName: 'billing' });
 * for (const letter of await deadLetters.list()) console.log(letter.messageId, letter.name, letter.failedReason);
 * await deadLetters.replay(letter.messageId);
 * await deadLetters.purge();
 * await deadLetters.close();
 */
export class DeadLetters implements DeadLetterQueue<DeadLetter> {
  readonly #options: DeadLettersOptions;
  readonly #queueName: string;
  readonly #sql: QueueSql;
  readonly #wake: string;
  readonly #codec: MessageCodec;
  readonly #errors: ErrorReporter;
  readonly #schema: string;
  #opened: OpenedPool | undefined;
  #checked: Promise<pg.Pool> | undefined;

  /** Checks the options; connects nothing — the first call does. */
  constructor(options: DeadLettersOptions) {
    if (options.connection === undefined) throw new ConfigurationError('DeadLetters: connection is required');
    const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
    this.#schema = schema;
    this.#queueName = checkQueueName('DeadLetters', options.queueName);
    this.#sql = queueSql(schema);
    this.#wake = channels(schema).wake;
    this.#codec = options.codec ?? new JsonCodec();
    this.#errors = new ErrorReporter('DeadLetters', 'postgres', options);
    this.#options = options;
  }

  /** The pool, opened on first use; until a check passes, each use checks that the schema is migrated. */
  #db(): Promise<pg.Pool> {
    this.#opened ??= openPool(this.#options.connection, 10_000, 2, (error) =>
      this.#errors.report(error, 'connection'),
    );
    const pool = this.#opened.pool;
    this.#checked ??= requireMigrated(pool, this.#schema, QUEUE_VERSION, 'DeadLetters').then(
      () => pool,
      (error: unknown) => {
        this.#checked = undefined;
        throw error;
      },
    );
    return this.#checked;
  }

  async count(): Promise<number> {
    const result = await (await this.#db()).query<{ count: number }>(
      `SELECT count(*)::integer AS count FROM ${this.#sql.table} WHERE queue = $1 AND state = 'dead'`,
      [this.#queueName],
    );
    return result.rows[0]?.count ?? 0;
  }

  /** Dead letters, newest first, `limit` from `offset`. @param limit @default 100 */
  async list(offset = 0, limit = 100): Promise<DeadLetter[]> {
    if (limit <= 0) return [];
    const result = await (await this.#db()).query<DeadRow>(
      `SELECT ${COLUMNS} FROM ${this.#sql.table} WHERE queue = $1 AND state = 'dead'
       ORDER BY failed_at DESC, id DESC OFFSET $2 LIMIT $3`,
      [this.#queueName, offset, limit],
    );
    return result.rows.map((row) => this.#toDeadLetter(row));
  }

  async get(messageId: string): Promise<DeadLetter | undefined> {
    const result = await (await this.#db()).query<DeadRow>(
      `SELECT ${COLUMNS} FROM ${this.#sql.table} WHERE queue = $1 AND message_id = $2 AND state = 'dead'`,
      [this.#queueName, messageId],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : this.#toDeadLetter(row);
  }

  /** Puts one dead letter back in the queue with its attempts reset. False when there is no such dead letter. */
  async replay(messageId: string): Promise<boolean> {
    return (await this.#replay('AND message_id = $2', [this.#queueName, messageId])) === 1;
  }

  /** Puts every dead letter (up to `limit`) back in the queue with attempts reset; returns how many. */
  async replayAll(limit = Number.POSITIVE_INFINITY): Promise<number> {
    if (limit <= 0) return 0;
    if (limit === Number.POSITIVE_INFINITY) return this.#replay('', [this.#queueName]);
    return this.#replay(
      `AND id IN (SELECT id FROM ${this.#sql.table} WHERE queue = $1 AND state = 'dead' ORDER BY failed_at DESC, id DESC LIMIT $2)`,
      [this.#queueName, Math.floor(limit)],
    );
  }

  async #replay(where: string, values: unknown[]): Promise<number> {
    const result = await (await this.#db()).query<{ replayed: number }>(
      `WITH replayed AS (
         UPDATE ${this.#sql.table}
         SET state = 'ready', attempts_made = 0, run_at = now(), failed_reason = NULL, failed_at = NULL
         WHERE queue = $1 AND state = 'dead' ${where}
         RETURNING 1)
       SELECT count(*)::integer AS replayed,
              CASE WHEN count(*) > 0 THEN pg_notify('${this.#wake}', $1) END AS notified
       FROM replayed`,
      values,
    );
    return result.rows[0]?.replayed ?? 0;
  }

  /** Deletes one dead letter (`messageId`) or all of them; returns how many were deleted. */
  async purge(messageId?: string): Promise<number> {
    const result =
      messageId === undefined
        ? await (await this.#db()).query(
            `DELETE FROM ${this.#sql.table} WHERE queue = $1 AND state = 'dead'`,
            [this.#queueName],
          )
        : await (await this.#db()).query(
            `DELETE FROM ${this.#sql.table} WHERE queue = $1 AND message_id = $2 AND state = 'dead'`,
            [this.#queueName, messageId],
          );
    return result.rowCount ?? 0;
  }

  /** Ends the pool this object opened (not one passed in). */
  async close(): Promise<void> {
    const opened = this.#opened;
    this.#opened = undefined;
    this.#checked = undefined;
    await opened?.close();
  }

  #toDeadLetter(row: DeadRow): DeadLetter {
    let envelope: WireData | undefined;
    try {
      envelope = fromStored(row.envelope, row.encoding);
    } catch {
      envelope = undefined;
    }
    return {
      messageId: row.message_id,
      name: row.name,
      failedReason: row.failed_reason ?? '',
      attemptsMade: row.attempts_made,
      failedAt: row.failed_at ?? undefined,
      message: decodeDeadLetter(this.#codec, envelope),
      envelope,
    };
  }
}
