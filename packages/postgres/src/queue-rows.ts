import { ErrorReporter, type ErrorReportingOptions } from '@switchyard/core';
import type pg from 'pg';
import { type OpenedPool, openPool, type PgConnection } from './connection.ts';
import { checkSchemaName, DEFAULT_SCHEMA, requireMigrated } from './migrate.ts';
import { checkQueueName } from './postgres-wire.ts';
import { QUEUE_VERSION, type QueueSql, queueSql } from './queue-sql.ts';

/** Where the rows are: what `DeadLetters` and `ReadyMessages` are given. */
export interface QueueRowsOptions extends ErrorReportingOptions {
  /** A `postgres://` URL, a node-postgres `PoolConfig`, or an existing `pg.Pool` (not ended by `close()`). */
  readonly connection: PgConnection;
  /** The queue (the producer's and consumer's `queueName`). */
  readonly queueName: string;
  /** The schema `migrate()` created. @default 'switchyard' */
  readonly schema?: string | undefined;
}

/** The states a reader works on: waiting (`ReadyMessages`) or given up (`DeadLetters`). */
export type RowState = 'ready' | 'dead';

/**
 * The rows of one queue in one state, for the objects that list and remove them (`DeadLetters`,
 * `ReadyMessages`): the pool, opened on first use (2 connections, 10 s bounds; its errors go to
 * `onError` with stage `'connection'`) and checked migrated until a check passes; and the
 * count / page / get / delete statements on those rows.
 */
export class QueueRows {
  /** The queue. */
  readonly queueName: string;
  /** The schema the tables live in. */
  readonly schema: string;
  /** The schema's queue statements (`table` is the qualified `queue_messages`). */
  readonly sql: QueueSql;
  /** The state the rows are in. */
  readonly state: RowState;
  /** The `ORDER BY` list that puts the newest rows first. */
  readonly newestFirst: string;
  readonly #component: string;
  readonly #connection: PgConnection;
  readonly #errors: ErrorReporter;
  #opened: OpenedPool | undefined;
  #checked: Promise<pg.Pool> | undefined;

  /** Checks the schema and queue names; connects nothing. */
  constructor(component: string, options: QueueRowsOptions, state: RowState, newestFirst: string) {
    this.schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
    this.queueName = checkQueueName(component, options.queueName);
    this.sql = queueSql(this.schema);
    this.state = state;
    this.newestFirst = newestFirst;
    this.#component = component;
    this.#connection = options.connection;
    this.#errors = new ErrorReporter(component, 'postgres', options);
  }

  /** The pool, opened on first use; until a check passes, each use checks that the schema is migrated. */
  db(): Promise<pg.Pool> {
    this.#opened ??= openPool(this.#connection, 10_000, 2, (error) =>
      this.#errors.report(error, 'connection'),
    );
    const pool = this.#opened.pool;
    this.#checked ??= requireMigrated(pool, this.schema, QUEUE_VERSION, this.#component).then(
      () => pool,
      (error: unknown) => {
        this.#checked = undefined;
        throw error;
      },
    );
    return this.#checked;
  }

  /** How many rows of the queue are in the state. */
  async count(): Promise<number> {
    const result = await (await this.db()).query<{ count: number }>(
      `SELECT count(*)::integer AS count FROM ${this.sql.table} WHERE queue = $1 AND state = '${this.state}'`,
      [this.queueName],
    );
    return result.rows[0]?.count ?? 0;
  }

  /** `columns` of the rows, newest first, `limit` from `offset` (none when `limit` is not positive). */
  async list<Row extends pg.QueryResultRow>(columns: string, offset: number, limit: number): Promise<Row[]> {
    if (limit <= 0) return [];
    const result = await (await this.db()).query<Row>(
      `SELECT ${columns} FROM ${this.sql.table} WHERE queue = $1 AND state = '${this.state}'
       ORDER BY ${this.newestFirst} OFFSET $2 LIMIT $3`,
      [this.queueName, offset, limit],
    );
    return result.rows;
  }

  /** `columns` of the row of message `messageId`, if it is in the state. */
  async get<Row extends pg.QueryResultRow>(columns: string, messageId: string): Promise<Row | undefined> {
    const result = await (await this.db()).query<Row>(
      `SELECT ${columns} FROM ${this.sql.table} WHERE queue = $1 AND message_id = $2 AND state = '${this.state}'`,
      [this.queueName, messageId],
    );
    return result.rows[0];
  }

  /** Deletes the row of message `messageId`, or every row in the state; returns how many. */
  async remove(messageId?: string): Promise<number> {
    const db = await this.db();
    const result =
      messageId === undefined
        ? await db.query(`DELETE FROM ${this.sql.table} WHERE queue = $1 AND state = '${this.state}'`, [
            this.queueName,
          ])
        : await db.query(
            `DELETE FROM ${this.sql.table} WHERE queue = $1 AND message_id = $2 AND state = '${this.state}'`,
            [this.queueName, messageId],
          );
    return result.rowCount ?? 0;
  }

  /** Ends the pool opened here (not one passed in); the next use opens another. */
  async close(): Promise<void> {
    const opened = this.#opened;
    this.#opened = undefined;
    this.#checked = undefined;
    await opened?.close();
  }
}
