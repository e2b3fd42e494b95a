import { ConfigurationError } from '@switchyard/core';

/** What the outbox needs from a transaction: run one parameterised statement and read its rows. */
export interface SqlExecutor {
  query(text: string, values?: readonly unknown[]): Promise<{ readonly rows: readonly unknown[] }>;
}

/**
 * A transaction the outbox can write into: a node-postgres client (`pg.PoolClient`/`pg.Client`)
 * inside `BEGIN … COMMIT`, or a Kysely `Transaction` (from `db.transaction().execute(trx => …)`),
 * or anything with `query(text, values)` that returns `{ rows }`.
 */
export type OutboxTransaction = SqlExecutor | KyselyLike;

/** The part of a Kysely `Transaction` (or `Kysely`) the outbox uses: `executeQuery`. */
export interface KyselyLike {
  executeQuery(query: unknown): Promise<{ readonly rows: readonly unknown[] }>;
}

/**
 * Turns a transaction into a {@link SqlExecutor}. A Kysely transaction is given a compiled raw query
 * of the same shape `CompiledQuery.raw(sql, parameters)` builds (a `RawNode` root), so the main
 * entry of this package does not import kysely; the Kysely test runs it against the real library.
 */
export function toExecutor(transaction: unknown): SqlExecutor {
  if (typeof transaction === 'object' && transaction !== null) {
    const candidate = transaction as Partial<KyselyLike & SqlExecutor>;
    if (typeof candidate.executeQuery === 'function') {
      const kysely = transaction as KyselyLike;
      return { query: (text, values = []) => kysely.executeQuery(rawQuery(text, values)) };
    }
    if (typeof candidate.query === 'function') return transaction as SqlExecutor;
  }
  throw new ConfigurationError(
    'PostgresOutbox: bind a pg client inside BEGIN … COMMIT, or a Kysely transaction; got something with neither query() nor executeQuery()',
  );
}

let queryCount = 0;

function rawQuery(sql: string, parameters: readonly unknown[]): object {
  const id = `sy-outbox-${++queryCount}`;
  return Object.freeze({
    sql,
    parameters: Object.freeze([...parameters]),
    query: Object.freeze({
      kind: 'RawNode',
      sqlFragments: Object.freeze([sql]),
      parameters: Object.freeze([]),
    }),
    queryId: Object.freeze({ queryId: id }),
  });
}
