import { fulfilledWithin, TransportError } from '@switchyard/core';
import pg from 'pg';

/**
 * How to reach PostgreSQL: a `postgres://` URL, node-postgres `PoolConfig`, or an existing
 * `pg.Pool`. From a URL or config the component opens (and on close ends) a pool of its own whose
 * connects and statements are bounded by the component's timeout; a pool you pass is used as is
 * and never ended by the component.
 */
export type PgConnection = string | pg.PoolConfig | pg.Pool;

/** A pool and whether the component owns it (and must end it). */
export interface OpenedPool {
  readonly pool: pg.Pool;
  readonly owned: boolean;
  /** Removes the component's `error` listener and ends the pool if owned. */
  close(): Promise<void>;
}

/**
 * The pool for `connection`. Errors of idle clients (a restarted server, `pg_terminate_backend`)
 * go to `report` instead of crashing the process; the pool replaces such clients by itself.
 */
export function openPool(
  connection: PgConnection,
  timeoutMs: number,
  max: number,
  report: (error: unknown) => void,
): OpenedPool {
  const owned = !(connection instanceof pg.Pool);
  const pool = owned
    ? new pg.Pool({
        ...(typeof connection === 'string' ? { connectionString: connection } : connection),
        connectionTimeoutMillis: Math.ceil(timeoutMs),
        query_timeout: Math.ceil(timeoutMs),
        keepAlive: true,
        max,
      } as pg.PoolConfig)
    : connection;
  const onError = (error: Error): void => report(error);
  pool.on('error', onError);
  return {
    pool,
    owned,
    async close() {
      if (owned) await pool.end().catch(report);
      pool.off('error', onError);
    },
  };
}

/**
 * Runs `work` and waits for it at most `timeoutMs`; a failure or the time running out rejects with
 * a `TransportError` that says what could not be done (`what`) and why.
 */
export async function bounded<T>(work: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let failure: unknown;
  let value: T | undefined;
  const watched = work.then(
    (result) => {
      value = result;
    },
    (error: unknown) => {
      failure = error;
      throw error;
    },
  );
  if (await fulfilledWithin(watched, timeoutMs)) return value as T;
  const reason = failure === undefined ? `no answer within ${timeoutMs} ms` : describe(failure);
  throw new TransportError(`${what}: ${reason}`, { cause: failure });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message || String((error as { code?: unknown }).code) : String(error);
}
