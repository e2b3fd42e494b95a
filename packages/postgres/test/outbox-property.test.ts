import { type AnyMessage, defineEvent, EventBus, EventRouter } from '@switchyard/core';
import fc from 'fast-check';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTBOX_STREAM, OutboxRelay, PostgresOutbox } from '../src/index.ts';
import { commitOrder, recordCommitOrder, sleep, waitFor } from './outbox-kit.ts';
import { dropSchema, migratedSchema, testPool } from './pg-test-kit.ts';

const Item = defineEvent<{ run: number; tx: number; index: number }>('Item');

/** One application transaction: the messages it dispatches, how it ends, and its timing. */
interface TxPlan {
  readonly streams: readonly ('a' | 'b' | 'c')[];
  /** commit; throw in the handler (rolled back); a failed statement swallowed (PostgreSQL rolls back at COMMIT). */
  readonly end: 'commit' | 'throw' | 'aborted';
  readonly startDelayMs: number;
  readonly holdMs: number;
}

const txPlan: fc.Arbitrary<TxPlan> = fc.record({
  streams: fc.array(fc.constantFrom('a' as const, 'b' as const, 'c' as const), {
    minLength: 1,
    maxLength: 4,
  }),
  end: fc.constantFrom('commit' as const, 'commit' as const, 'throw' as const, 'aborted' as const),
  startDelayMs: fc.integer({ min: 0, max: 8 }),
  holdMs: fc.integer({ min: 1, max: 6 }),
});

let pool: pg.Pool;
let schema: string;
beforeAll(async () => {
  pool = testPool(30);
  schema = await migratedSchema(pool, 'outbox_prop');
  await recordCommitOrder(pool, schema);
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

describe('outbox property: random interleavings of commits and rollbacks', () => {
  it('delivers exactly the committed messages, each stream in commit order', {
    timeout: 120_000,
  }, async () => {
    const received: AnyMessage[] = [];
    const router = new EventRouter();
    router.route(Item).to((event) => void received.push(event));
    const target = new EventBus();
    target.use(router);
    const outbox = new PostgresOutbox({ pool, schema });
    const appRouter = new EventRouter();
    appRouter.route(Item).to(outbox.to('local'));
    const eventBus = new EventBus();
    eventBus.use(appRouter);
    // The relay runs throughout, so its batches interleave with the transactions.
    const relay = new OutboxRelay({
      connection: pool,
      schema,
      targets: { local: target },
      batchSize: 3,
      concurrency: 2,
    });
    await relay.start();
    let run = 0;
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(txPlan, { minLength: 1, maxLength: 12 }), async (plans) => {
          run++;
          const committed: AnyMessage[] = [];
          await Promise.all(
            plans.map(async (plan, tx) => {
              await sleep(plan.startDelayMs);
              const messages = plan.streams.map((stream, index) =>
                Item.create({ run, tx, index }, { metadata: { [OUTBOX_STREAM]: `${run}-${stream}` } }),
              );
              const ok = await outbox
                .transaction(async (client) => {
                  for (const message of messages) await eventBus.dispatch(message);
                  await sleep(plan.holdMs);
                  if (plan.end === 'throw') throw new Error('handler failed');
                  if (plan.end === 'aborted') await client.query('SELECT 1/0').catch(() => undefined);
                })
                .then(
                  () => true,
                  () => false,
                );
              expect(ok).toBe(plan.end === 'commit');
              if (ok) committed.push(...messages);
            }),
          );
          const mine = () => received.filter((message) => (message.payload as { run: number }).run === run);
          await waitFor(
            () => mine().length >= committed.length,
            10_000,
            `${committed.length} messages of run ${run}`,
          );
          await waitFor(async () => (await relay.pending()) === 0, 10_000, 'the outbox to empty');
          const delivered = mine();
          expect(delivered.map((message) => message.id).sort()).toEqual(
            committed.map((message) => message.id).sort(),
          );
          // Commit order as PostgreSQL saw it (rows of one transaction keep their dispatch order).
          const seq = await commitOrder(pool, schema);
          const inCommitOrder = [...committed].sort((x, y) => seq.get(x.id)! - seq.get(y.id)!);
          for (const stream of ['a', 'b', 'c']) {
            const key = `${run}-${stream}`;
            const order = (messages: AnyMessage[]) =>
              messages
                .filter((message) => message.metadata[OUTBOX_STREAM] === key)
                .map((message) => message.id);
            expect(order(delivered)).toEqual(order(inCommitOrder));
          }
        }),
        { numRuns: 30 },
      );
    } finally {
      await relay.close();
    }
  });
});
