import { sleep, waitFor } from '@switchyard/conformance';
import {
  CommandBus,
  CommandRouter,
  defineCommand,
  defineQuery,
  ErrorCode,
  isSwitchyardError,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PostgresConsumer, PostgresProducer, postgresTransport } from '../src/index.ts';
import { dropSchema, migratedSchema, PG_URL, testPool } from './pg-test-kit.ts';

const Work = defineCommand<{ n: number }>('delay.Work');
const Fails = defineCommand<{ n: number }>('delay.Fails');
const Ask = defineQuery<{ n: number }, number>('delay.Ask');

const pool = testPool(2);
let schema = '';
let queues = 0;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  schema = await migratedSchema(pool, 'delay');
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

/** A producer and a consumer on a fresh queue; `handled` gets each command's n and when it ran. */
function pair(producerOptions: { delay?: number } = {}) {
  const queueName = `delay-${++queues}`;
  const handled: { n: number; at: number }[] = [];
  const handlers = new CommandRouter();
  handlers.route(Work).to((command) => {
    handled.push({ n: command.payload.n, at: Date.now() });
  });
  handlers.route(Fails).to(() => {
    throw new Error('fails every time');
  });
  const commandBus = new CommandBus();
  commandBus.use(handlers);
  const consumer = new PostgresConsumer({
    connection: PG_URL,
    schema,
    queueName,
    commandBus,
    pollIntervalMs: 100,
    onError: () => undefined,
  });
  const producer = new PostgresProducer({
    connection: PG_URL,
    schema,
    queueName,
    attempts: 1,
    ...producerOptions,
  });
  closers.push(
    () => consumer.close(),
    () => producer.close(),
  );
  const routes = new CommandRouter();
  routes.route(Work).to(producer);
  routes.route(Fails).to(producer);
  const sender = new CommandBus();
  sender.use(routes);
  const queries = new QueryRouter();
  queries.route(Ask).to(producer);
  const asker = new QueryBus();
  asker.use(queries);
  return { queueName, handled, consumer, producer, sender, asker };
}

/** Each row's delay as stored: run_at − created_at in ms (both from one statement's now()), by n. */
async function storedDelays(queueName: string): Promise<Map<number, { delayMs: number; createdAt: string }>> {
  const result = await pool.query<{ n: number; delay_ms: number; created_at: string }>(
    `SELECT (envelope::jsonb -> 'payload' ->> 'n')::integer AS n,
            (EXTRACT(EPOCH FROM run_at - created_at) * 1000)::double precision AS delay_ms,
            created_at::text AS created_at
     FROM "${schema}".queue_messages WHERE queue = $1`,
    [queueName],
  );
  return new Map(result.rows.map((row) => [row.n, { delayMs: row.delay_ms, createdAt: row.created_at }]));
}

describe('per-message delay on PostgreSQL (dispatch(message, { delayMs }))', () => {
  it('declares delayMs and dedupeKey, not priority, in the transport and producer capabilities', () => {
    const { producer } = pair();
    expect(producer.capabilities.delivery).toEqual(['delayMs', 'dedupeKey']);
    expect(postgresTransport({ connection: PG_URL, queueName: 'x' }).capabilities.delivery).toEqual([
      'delayMs',
      'dedupeKey',
    ]);
  });

  it('a delayed command is not handled before its delay, and is handled after it', async () => {
    const { consumer, sender, handled, queueName } = pair();
    await consumer.start();
    const sent = Date.now();
    await sender.dispatch(Work.create({ n: 1 }), { delayMs: 1_000 });
    expect((await storedDelays(queueName)).get(1)?.delayMs).toBeCloseTo(1_000, 3);
    await sleep(600);
    expect(handled).toEqual([]);
    await waitFor(() => handled.length === 1, 10_000, 'the delayed command');
    expect(handled[0]!.at - sent).toBeGreaterThanOrEqual(990);
  });

  it('messages with different delays in one batch (one INSERT) each get their own', async () => {
    const { consumer, sender, handled, queueName } = pair();
    const delays = [900, 0, 300, 600, 0];
    // Dispatched in the same tick: the producer sends them as one statement.
    await Promise.all(delays.map((delayMs, n) => sender.dispatch(Work.create({ n }), { delayMs })));
    const stored = await storedDelays(queueName);
    expect(new Set([...stored.values()].map((row) => row.createdAt)).size).toBe(1); // one statement's now()
    delays.forEach((delayMs, n) => {
      expect(stored.get(n)?.delayMs, `message ${n}`).toBeCloseTo(delayMs, 3);
    });
    await consumer.start();
    await waitFor(() => handled.length === delays.length, 10_000, 'every command');
    const order = handled.map((entry) => entry.n);
    expect(order.slice(0, 2).sort()).toEqual([1, 4]);
    expect(order.slice(2)).toEqual([2, 3, 0]);
  });

  it('delayMs overrides the producer’s delay option for its message; the others keep it', async () => {
    const { sender, queueName } = pair({ delay: 5_000 });
    await Promise.all([
      sender.dispatch(Work.create({ n: 0 })),
      sender.dispatch(Work.create({ n: 1 }), { delayMs: 0 }),
      sender.dispatch(Work.create({ n: 2 }), { delayMs: 250 }),
    ]);
    const stored = await storedDelays(queueName);
    expect(stored.get(0)?.delayMs).toBeCloseTo(5_000, 3);
    expect(stored.get(1)?.delayMs).toBeCloseTo(0, 3);
    expect(stored.get(2)?.delayMs).toBeCloseTo(250, 3);
  });

  it('refuses priority with SWITCHYARD_INVALID_CONFIGURATION, queueing nothing', async () => {
    const { sender, queueName } = pair();
    for (const delivery of [{ priority: 1 }, { dedupeKey: 'k', priority: 1 }, { delayMs: 10, priority: 2 }]) {
      const error = await sender.dispatch(Work.create({ n: 1 }), delivery).catch((caught: unknown) => caught);
      expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration), JSON.stringify(delivery)).toBe(true);
    }
    expect((await storedDelays(queueName)).size).toBe(0);
  });
});

/** How many rows the queue holds. */
async function count(queueName: string): Promise<number> {
  const result = await pool.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM "${schema}".queue_messages WHERE queue = $1`,
    [queueName],
  );
  return result.rows[0]?.n ?? 0;
}

describe('per-message dedupeKey on PostgreSQL (a unique index over live messages)', () => {
  it('a second message with the key is dropped while the first waits; both dispatches resolve', async () => {
    const { consumer, sender, handled, queueName } = pair();
    await sender.dispatch(Work.create({ n: 1 }), { dedupeKey: 'k', delayMs: 500 });
    await expect(sender.dispatch(Work.create({ n: 2 }), { dedupeKey: 'k' })).resolves.toBeUndefined();
    await sender.dispatch(Work.create({ n: 3 }), { dedupeKey: 'other' });
    await sender.dispatch(Work.create({ n: 4 })); // no key: never deduplicated
    expect(await count(queueName)).toBe(3);
    await consumer.start();
    await waitFor(() => handled.length === 3, 10_000, 'the three kept');
    await sleep(200);
    expect(handled.map((entry) => entry.n).sort()).toEqual([1, 3, 4]);
  });

  it('duplicates within one batch (one INSERT) are kept once', async () => {
    const { sender, queueName } = pair();
    await Promise.all(
      [1, 2, 3].map((n) => sender.dispatch(Work.create({ n }), { dedupeKey: 'same', delayMs: 60_000 })),
    );
    expect(await count(queueName)).toBe(1);
  });

  it('the key is free again once its message was handled, or became a dead letter', async () => {
    const { consumer, sender, handled, queueName } = pair();
    await consumer.start();
    await sender.dispatch(Work.create({ n: 1 }), { dedupeKey: 'k' });
    await waitFor(() => handled.length === 1, 10_000, 'the first');
    await waitFor(async () => (await count(queueName)) === 0, 10_000, 'its row to go');
    await sender.dispatch(Work.create({ n: 2 }), { dedupeKey: 'k' });
    await waitFor(() => handled.length === 2, 10_000, 'the second with the same key');

    await sender.dispatch(Fails.create({ n: 3 }), { dedupeKey: 'dead' });
    await waitFor(
      async () =>
        (
          await pool.query(`SELECT 1 FROM "${schema}".queue_messages WHERE queue = $1 AND state = 'dead'`, [
            queueName,
          ])
        ).rowCount === 1,
      10_000,
      'the dead letter',
    );
    await sender.dispatch(Work.create({ n: 4 }), { dedupeKey: 'dead' });
    await waitFor(() => handled.length === 3, 10_000, 'a message with the dead letter’s key');
  });

  it('refuses dedupeKey on a query (a dropped duplicate would never be answered)', async () => {
    const { asker, queueName } = pair();
    const error = await asker
      .dispatch(Ask.create({ n: 1 }), { dedupeKey: 'q' })
      .catch((caught: unknown) => caught);
    expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
    expect(await count(queueName)).toBe(0);
  });
});
