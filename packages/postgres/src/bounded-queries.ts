import type pg from 'pg';
import { bounded } from './connection.ts';

/**
 * `pool`'s `query`, each statement bounded by `timeoutMs` (see `bounded`): a failure or the time
 * running out rejects with a `TransportError` that starts with `what`. What a starting component
 * checks the schema (`requireMigrated`) and prepares through.
 *
 * @example
 * await requireMigrated(boundedQueries(pool, 5_000, 'PostgresProducer could not reach PostgreSQL'), schema, QUEUE_VERSION, 'PostgresProducer');
 */
export function boundedQueries(pool: pg.Pool, timeoutMs: number, what: string): Pick<pg.Pool, 'query'> {
  return {
    query: (text: string, values?: unknown[]) => bounded(pool.query(text, values), timeoutMs, what),
  } as Pick<pg.Pool, 'query'>;
}
