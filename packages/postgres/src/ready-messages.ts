import {
  decodeDeadLetter,
  ErrorReporter,
  type ErrorReportingOptions,
  JsonCodec,
  type MessageCodec,
  type StoredMessage,
  type StoredMessages,
  type WireData,
} from '@switchyard/core';
import type pg from 'pg';
import { type OpenedPool, openPool, type PgConnection } from './connection.ts';
import { checkSchemaName, DEFAULT_SCHEMA, requireMigrated } from './migrate.ts';
import { checkQueueName } from './postgres-wire.ts';
import { QUEUE_VERSION, type QueueSql, queueSql } from './queue-sql.ts';
import { fromStored } from './wire-format.ts';

/** Options of {@link ReadyMessages}. */
export interface ReadyMessagesOptions extends ErrorReportingOptions {
  /** A `postgres://` URL, a node-postgres `PoolConfig`, or an existing `pg.Pool` (not ended by `close()`). */
  readonly connection: PgConnection;
  /** The queue. */
  readonly queueName: string;
  /** The schema `migrate()` created. @default 'switchyard' */
  readonly schema?: string | undefined;
  /** Decodes the envelopes; use the producer's codec. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

interface ReadyRow {
  readonly message_id: string;
  readonly name: string;
  readonly envelope: string;
  readonly encoding: string | null;
  readonly created_at: Date;
}

const COLUMNS = 'message_id, name, envelope, encoding, created_at';

/**
 * The messages waiting (state `ready`) in a PostgreSQL queue that nobody consumes (core's
 * `StoredMessages`): what lets a PostgreSQL queue be `createSwitchyard`'s dead-letter sink.
 * Connects on first use.
 */
export class ReadyMessages implements StoredMessages {
  readonly #options: ReadyMessagesOptions;
  readonly #queueName: string;
  readonly #schema: string;
  readonly #sql: QueueSql;
  readonly #codec: MessageCodec;
  readonly #errors: ErrorReporter;
  #opened: OpenedPool | undefined;
  #checked: Promise<pg.Pool> | undefined;

  constructor(options: ReadyMessagesOptions) {
    this.#schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
    this.#queueName = checkQueueName('ReadyMessages', options.queueName);
    this.#sql = queueSql(this.#schema);
    this.#codec = options.codec ?? new JsonCodec();
    this.#errors = new ErrorReporter('ReadyMessages', 'postgres', options);
    this.#options = options;
  }

  #db(): Promise<pg.Pool> {
    this.#opened ??= openPool(this.#options.connection, 10_000, 2, (error) =>
      this.#errors.report(error, 'connection'),
    );
    const pool = this.#opened.pool;
    this.#checked ??= requireMigrated(pool, this.#schema, QUEUE_VERSION, 'ReadyMessages').then(
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
      `SELECT count(*)::integer AS count FROM ${this.#sql.table} WHERE queue = $1 AND state = 'ready'`,
      [this.#queueName],
    );
    return result.rows[0]?.count ?? 0;
  }

  async list(offset = 0, limit = 100): Promise<StoredMessage[]> {
    if (limit <= 0) return [];
    const result = await (await this.#db()).query<ReadyRow>(
      `SELECT ${COLUMNS} FROM ${this.#sql.table} WHERE queue = $1 AND state = 'ready'
       ORDER BY id DESC OFFSET $2 LIMIT $3`,
      [this.#queueName, offset, limit],
    );
    return result.rows.map((row) => this.#toStored(row));
  }

  async get(id: string): Promise<StoredMessage | undefined> {
    const result = await (await this.#db()).query<ReadyRow>(
      `SELECT ${COLUMNS} FROM ${this.#sql.table} WHERE queue = $1 AND message_id = $2 AND state = 'ready'`,
      [this.#queueName, id],
    );
    const row = result.rows[0];
    return row === undefined ? undefined : this.#toStored(row);
  }

  async remove(id?: string): Promise<number> {
    const db = await this.#db();
    const result =
      id === undefined
        ? await db.query(`DELETE FROM ${this.#sql.table} WHERE queue = $1 AND state = 'ready'`, [
            this.#queueName,
          ])
        : await db.query(
            `DELETE FROM ${this.#sql.table} WHERE queue = $1 AND message_id = $2 AND state = 'ready'`,
            [this.#queueName, id],
          );
    return result.rowCount ?? 0;
  }

  async close(): Promise<void> {
    const opened = this.#opened;
    this.#opened = undefined;
    this.#checked = undefined;
    await opened?.close();
  }

  #toStored(row: ReadyRow): StoredMessage {
    let envelope: WireData | undefined;
    try {
      envelope = fromStored(row.envelope, row.encoding);
    } catch {
      envelope = undefined;
    }
    return {
      id: row.message_id,
      name: row.name,
      message: decodeDeadLetter(this.#codec, envelope),
      envelope,
      storedAt: row.created_at,
    };
  }
}
