/**
 * An embedded PostgreSQL (PGlite, PostgreSQL compiled to WebAssembly) behind the part of the
 * node-postgres `Pool` interface that `migrate()`, `PostgresOutbox` and `OutboxRelay` use:
 * `connect()` → a client with `query(text, values)` and `release()`, and `pool.query()`.
 *
 * PGlite is one session, so the adapter hands out one client at a time (the next `connect()` waits
 * for the `release()`): transactions never interleave. That is also why the relay runs with
 * `listen: false` on it (a LISTEN client would hold the only session) and polls instead.
 */
import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';

interface Result {
  rows: unknown[];
  rowCount?: number | null | undefined;
  command?: string | undefined;
}

export function pglitePool(db: PGlite): pg.Pool {
  let turn: Promise<void> = Promise.resolve();
  const run = async (text: string, values?: readonly unknown[]): Promise<Result> => {
    if (values !== undefined && values.length > 0) return db.query(text, values as unknown[]);
    // No parameters: the simple protocol, which (like node-postgres) runs several statements.
    const results = await db.exec(text);
    return results.at(-1) ?? { rows: [], rowCount: 0 };
  };
  const connect = async () => {
    let done!: () => void;
    const previous = turn;
    turn = new Promise((resolve) => {
      done = resolve;
    });
    await previous;
    let released = false;
    const client = {
      query: run,
      release: () => {
        if (released) return;
        released = true;
        done();
      },
      on: () => client,
      off: () => client,
    };
    return client;
  };
  const pool = {
    totalCount: 0, // what migrate() checks to tell a pool from a client
    connect,
    async query(text: string, values?: readonly unknown[]) {
      const client = await connect();
      try {
        return await client.query(text, values);
      } finally {
        client.release();
      }
    },
    on: () => pool,
    off: () => pool,
    end: async () => undefined,
  };
  return pool as unknown as pg.Pool;
}
