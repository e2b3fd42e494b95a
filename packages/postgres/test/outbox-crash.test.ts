import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startProcess } from '@switchyard/conformance';
import { defineEvent, EventBus, EventRouter } from '@switchyard/core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTBOX_STREAM, PostgresOutbox } from '../src/index.ts';
import { waitFor } from './outbox-kit.ts';
import { dropSchema, migratedSchema, PG_URL, testPool } from './pg-test-kit.ts';

const Numbered = defineEvent<{ n: number }>('Numbered');
const TOTAL = 2_000;
const STREAMS = 8;
let pool: pg.Pool;
let schema: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  pool = testPool();
  schema = await migratedSchema(pool, 'outbox_crash');
  await pool.query(
    `CREATE TABLE "${schema}".deliveries (seq bigint GENERATED ALWAYS AS IDENTITY, message_id text NOT NULL, stream text NOT NULL, n int NOT NULL)`,
  );
});
afterAll(async () => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await dropSchema(pool, schema);
  await pool.end();
});

async function startRelayProcess(): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./outbox-relay-process.ts', import.meta.url));
  const started = await startProcess(script, { env: { PG_URL, SCHEMA: schema } });
  children.push(started.child);
  return started.child;
}

async function count(sql: string): Promise<number> {
  return (await pool.query(sql)).rows[0].n;
}

describe('a relay process SIGKILLed in the middle of 2,000 committed messages', () => {
  it('delivers every message after a restart, counting the duplicates, in order per stream', {
    timeout: 120_000,
  }, async () => {
    const outbox = new PostgresOutbox({ pool, schema });
    const router = new EventRouter();
    router.route(Numbered).to(outbox.to('deliveries'));
    const eventBus = new EventBus();
    eventBus.use(router);
    // 2,000 messages in 100 transactions of 20, spread over 8 streams; n grows per stream.
    for (let tx = 0; tx < TOTAL / 20; tx++) {
      await outbox.transaction(async () => {
        for (let i = 0; i < 20; i++) {
          const n = tx * 20 + i;
          await eventBus.dispatch(
            Numbered.create({ n }, { metadata: { [OUTBOX_STREAM]: `s${n % STREAMS}` } }),
          );
        }
      });
    }
    expect(await count(`SELECT count(*)::int AS n FROM "${schema}".outbox_messages`)).toBe(TOTAL);

    const first = await startRelayProcess();
    const deliveries = `SELECT count(*)::int AS n FROM "${schema}".deliveries`;
    // Batches are 8 streams × 50 = 400 messages: 630 is inside the second one, so the kill lands
    // after the first batch committed and before the second does.
    await waitFor(async () => (await count(deliveries)) >= 630, 60_000, 'the relay to be mid-stream');
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const pendingAfterKill = await count(`SELECT count(*)::int AS n FROM "${schema}".outbox_messages`);
    const deliveredBeforeKill = await count(deliveries);
    expect(pendingAfterKill).toBeGreaterThan(0); // it really died mid-stream
    expect(pendingAfterKill).toBeLessThan(TOTAL); // … after committing some of it

    const second = await startRelayProcess();
    await waitFor(
      async () => (await count(`SELECT count(*)::int AS n FROM "${schema}".outbox_messages`)) === 0,
      60_000,
      'the restarted relay to empty the outbox',
    );
    second.kill('SIGTERM');
    await new Promise((resolve) => second.once('exit', resolve));

    const distinct = await count(`SELECT count(DISTINCT message_id)::int AS n FROM "${schema}".deliveries`);
    const total = await count(deliveries);
    const duplicates = total - distinct;
    console.log(
      `outbox crash: ${deliveredBeforeKill} deliveries before SIGKILL, ${pendingAfterKill} left in the outbox; after restart ${distinct}/${TOTAL} distinct messages delivered, ${duplicates} duplicate deliveries`,
    );
    expect(distinct).toBe(TOTAL);
    // Redelivered only what the killed batch had forwarded without committing: at most one batch
    // (8 streams × 50 messages).
    expect(duplicates).toBeLessThanOrEqual(8 * 50);
    // Per stream, the first delivery of each message came in commit order.
    const rows = await pool.query<{ stream: string; n: number }>(
      `SELECT stream, n FROM (SELECT DISTINCT ON (message_id) stream, n, seq FROM "${schema}".deliveries ORDER BY message_id, seq) first ORDER BY seq`,
    );
    const byStream = new Map<string, number[]>();
    for (const row of rows.rows) byStream.set(row.stream, [...(byStream.get(row.stream) ?? []), row.n]);
    expect(byStream.size).toBe(STREAMS);
    for (const order of byStream.values()) expect(order).toEqual([...order].sort((a, b) => a - b));
  });
});
