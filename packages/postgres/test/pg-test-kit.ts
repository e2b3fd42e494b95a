import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '../src/index.ts';

/** The test database: `PG_URL`, else the local server with trust auth. */
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A schema name no other run uses. */
export function uniqueSchema(label = 'test'): string {
  return `switchyard_${label}_${randomBytes(5).toString('hex')}`;
}

/** A pool on the test database (end it in afterAll). */
export function testPool(max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: PG_URL, max });
  pool.on('error', () => undefined); // idle clients killed by fault tests
  return pool;
}

/** Creates and migrates a fresh schema; returns its name. */
export async function migratedSchema(pool: pg.Pool, label?: string): Promise<string> {
  const schema = uniqueSchema(label);
  await migrate(pool, { schema });
  return schema;
}

/** Drops a schema made by the tests. */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
