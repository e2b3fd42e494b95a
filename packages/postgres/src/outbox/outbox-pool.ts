import pg from 'pg';
import { type OpenedPool, openPool, type PgConnection } from '../connection.ts';

/**
 * The pool of a relay or of the dead letters: `openPool` for a URL, a `PoolConfig` or a `pg.Pool`;
 * any other object with node-postgres's `connect()` and `query()` (e.g. an adapter over an embedded
 * PostgreSQL such as PGlite) is used as it is and never ended.
 */
export function openOutboxPool(
  connection: PgConnection,
  timeoutMs: number,
  max: number,
  report: (error: unknown) => void,
): OpenedPool {
  if (!(connection instanceof pg.Pool) && isPoolLike(connection)) {
    return { pool: connection, owned: false, close: async () => undefined };
  }
  return openPool(connection, timeoutMs, max, report);
}

function isPoolLike(value: unknown): value is pg.Pool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as pg.Pool).connect === 'function' &&
    typeof (value as pg.Pool).query === 'function'
  );
}
