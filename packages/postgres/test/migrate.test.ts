import { ErrorCode, isSwitchyardError } from '@switchyard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { DeadLetters, listMigrations, migrate, PostgresConsumer, PostgresProducer } from '../src/index.ts';
import { dropSchema, PG_URL, testPool, uniqueSchema } from './pg-test-kit.ts';

const pool = testPool(4);
const made: string[] = [];
afterAll(async () => {
  for (const schema of made) await dropSchema(pool, schema);
  await pool.end();
});

describe('migrate()', () => {
  it('applies the shipped SQL files in order once, and records each version', async () => {
    const schema = uniqueSchema('migrate');
    made.push(schema);
    const shipped = await listMigrations();
    expect(shipped[0]).toEqual({ version: 1, name: '001_queue.sql' });
    expect(shipped.map((migration) => migration.version)).toEqual(
      [...shipped.map((migration) => migration.version)].sort((a, b) => a - b),
    );
    const first = await migrate(pool, { schema });
    expect(first.applied).toEqual(shipped);
    expect(first.version).toBe(shipped.at(-1)!.version);
    const again = await migrate(pool, { schema });
    expect(again.applied).toEqual([]);
    const recorded = await pool.query(
      `SELECT version, name FROM "${schema}".switchyard_migrations ORDER BY version`,
    );
    expect(recorded.rows).toEqual(shipped.map(({ version, name }) => ({ version, name })));
    const table = await pool.query('SELECT to_regclass($1) AS t', [`"${schema}".queue_messages`]);
    expect(table.rows[0].t).not.toBeNull();
  });

  it('is safe from several callers at once (one applies, the others find it done)', async () => {
    const schema = uniqueSchema('migrate');
    made.push(schema);
    const results = await Promise.all([1, 2, 3].map(() => migrate(pool, { schema })));
    expect(results.filter((result) => result.applied.length > 0)).toHaveLength(1);
  });

  it('refuses a schema name it cannot use safely', async () => {
    for (const schema of ['', 'a-b', 'x"; DROP TABLE y; --', 'a'.repeat(41), '1abc']) {
      const error = await migrate(pool, { schema }).catch((caught: unknown) => caught);
      expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
    }
  });

  it('never runs implicitly: a producer, consumer or DeadLetters on an unmigrated schema fails naming migrate()', async () => {
    const schema = uniqueSchema('unmigrated');
    const producer = new PostgresProducer({ connection: PG_URL, schema, queueName: 'q' });
    const consumer = new PostgresConsumer({ connection: PG_URL, schema, queueName: 'q' });
    for (const component of [producer, consumer]) {
      const error = await component.start().catch((caught: unknown) => caught);
      expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
      expect((error as Error).message).toContain(`migrate(pool, { schema: '${schema}' })`);
      await component.close();
    }
    const deadLetters = new DeadLetters({ connection: PG_URL, schema, queueName: 'q' });
    const error = await deadLetters.count().catch((caught: unknown) => caught);
    expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
    await deadLetters.close();
    const created = await pool.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    expect(created.rowCount).toBe(0);
  });
});
