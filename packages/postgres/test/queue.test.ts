import { waitFor } from '@switchyard/conformance';
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
import { DeadLetters, PostgresConsumer, PostgresProducer } from '../src/index.ts';
import { dropSchema, migratedSchema, PG_URL, testPool } from './pg-test-kit.ts';

const Work = defineCommand<{ n: number }>('pg.Work');
const Flaky = defineCommand<{ failTimes: number; key: string }>('pg.Flaky');
const Strict = defineCommand<{ n: number }>('pg.Strict', {
  schema: {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (value) =>
        typeof (value as { n?: unknown }).n === 'number'
          ? { value: value as { n: number } }
          : { issues: [{ message: 'n must be a number', path: ['n'] }] },
    },
  },
});
const Big = defineQuery<{ size: number }, { blob: string }>('pg.Big');
const Double = defineQuery<{ n: number }, { doubled: number }>('pg.Double');

const pool = testPool(4);
let schema = '';
let queue = 0;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  schema = await migratedSchema(pool, 'queue');
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

interface Seen {
  readonly handled: { name: string; id: string; at: number }[];
  readonly attempts: Map<string, number>;
  readonly errors: { error: unknown; context: Record<string, unknown> }[];
}

/** A consumer for a fresh queue and a producer routed to it; both closed after the test. */
async function pair(
  consumerOptions: Partial<ConstructorParameters<typeof PostgresConsumer>[0]> = {},
  producerOptions: Partial<ConstructorParameters<typeof PostgresProducer>[0]> = {},
) {
  const queueName = `q${++queue}`;
  const seen: Seen = { handled: [], attempts: new Map(), errors: [] };
  const handlers = new CommandRouter();
  handlers.route(Work).to((command) => {
    seen.handled.push({ name: command.name, id: command.id, at: Date.now() });
  });
  handlers.route(Strict).to(() => undefined);
  handlers.route(Flaky).to((command) => {
    const tries = (seen.attempts.get(command.payload.key) ?? 0) + 1;
    seen.attempts.set(command.payload.key, tries);
    if (tries <= command.payload.failTimes) throw new Error(`failure ${tries}`);
    seen.handled.push({ name: command.name, id: command.id, at: Date.now() });
  });
  const finders = new QueryRouter();
  finders.route(Big).to((query) => ({ blob: 'x'.repeat(query.payload.size) }));
  finders.route(Double).to((query) => ({ doubled: query.payload.n * 2 }));
  const commandBus = new CommandBus();
  commandBus.use(handlers);
  const queryBus = new QueryBus();
  queryBus.use(finders);
  const consumer = new PostgresConsumer({
    connection: PG_URL,
    schema,
    queueName,
    commandBus,
    queryBus,
    definitions: [Strict],
    onError: (error, context) => seen.errors.push({ error, context }),
    ...consumerOptions,
  });
  const producer = new PostgresProducer({ connection: PG_URL, schema, queueName, ...producerOptions });
  closers.push(
    () => consumer.close(),
    () => producer.close(),
  );
  const commandRoutes = new CommandRouter();
  commandRoutes.route(Work).to(producer);
  commandRoutes.route(Flaky).to(producer);
  commandRoutes.route(Strict).to(producer);
  const queryRoutes = new QueryRouter();
  queryRoutes.route(Big).to(producer);
  queryRoutes.route(Double).to(producer);
  const sender = { commandBus: new CommandBus(), queryBus: new QueryBus() };
  sender.commandBus.use(commandRoutes);
  sender.queryBus.use(queryRoutes);
  const deadLetters = new DeadLetters({ connection: PG_URL, schema, queueName });
  closers.push(() => deadLetters.close());
  return { queueName, seen, consumer, producer, sender, deadLetters };
}

async function rows(queueName: string): Promise<{ state: string; attempts_made: number }[]> {
  const result = await pool.query(
    `SELECT state, attempts_made FROM "${schema}".queue_messages WHERE queue = $1`,
    [queueName],
  );
  return result.rows;
}

describe('PostgresConsumer', () => {
  it('is woken by NOTIFY: a command is handled within milliseconds, not at the next poll', async () => {
    const { consumer, sender, seen } = await pair({ pollIntervalMs: 60_000 });
    await consumer.start();
    await new Promise((resolve) => setTimeout(resolve, 100)); // past the first (empty) fetch
    const latencies: number[] = [];
    for (let n = 0; n < 20; n++) {
      const sent = Date.now();
      await sender.commandBus.dispatch(Work.create({ n }));
      await waitFor(() => seen.handled.length === n + 1, 2_000, `command ${n}`);
      latencies.push(seen.handled[n]!.at - sent);
    }
    latencies.sort((a, b) => a - b);
    // The poll is a minute away: anything near these bounds came by NOTIFY. (Typically a few ms; the
    // bounds leave room for a loaded machine.)
    expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(250);
    expect(latencies.at(-1)).toBeLessThan(2_000);
  });

  it('retries a failing handler with backoff, then succeeds; the row is deleted', async () => {
    const { consumer, sender, seen, queueName } = await pair(
      {},
      { attempts: 3, backoff: { type: 'fixed', delay: 100 } },
    );
    await consumer.start();
    await sender.commandBus.dispatch(Flaky.create({ failTimes: 2, key: 'a' }));
    await waitFor(() => seen.handled.length === 1, 5_000, 'the third try');
    expect(seen.attempts.get('a')).toBe(3);
    await waitFor(async () => (await rows(queueName)).length === 0, 2_000, 'the row to be deleted');
    expect(seen.errors.map((entry) => (entry.context.row as { fate: string }).fate)).toEqual([
      'retry',
      'retry',
    ]);
  });

  it('keeps a message that fails every try as a dead letter; replay and purge it', async () => {
    const { consumer, sender, seen, deadLetters } = await pair(
      {},
      { attempts: 2, backoff: { type: 'exponential', delay: 50 } },
    );
    await consumer.start();
    const command = Flaky.create({ failTimes: 3, key: 'b' });
    await sender.commandBus.dispatch(command);
    await waitFor(async () => (await deadLetters.count()) === 1, 5_000, 'the dead letter');
    expect(seen.attempts.get('b')).toBe(2);
    const [letter] = await deadLetters.list();
    expect(letter).toMatchObject({ messageId: command.id, name: Flaky.name, attemptsMade: 2 });
    expect(letter!.failedReason).toContain('failure 2');
    expect(letter!.failedAt).toBeInstanceOf(Date);
    expect(letter!.message?.payload).toEqual({ failTimes: 3, key: 'b' });
    expect((await deadLetters.get(command.id))?.messageId).toBe(command.id);
    // Replayed with attempts reset: the third try succeeds.
    expect(await deadLetters.replay(command.id)).toBe(true);
    expect(await deadLetters.replay(command.id)).toBe(false);
    await waitFor(() => seen.handled.length === 1, 5_000, 'the replayed message');
    expect(await deadLetters.count()).toBe(0);
    // Another one, purged.
    await sender.commandBus.dispatch(Flaky.create({ failTimes: 9, key: 'c' }));
    await sender.commandBus.dispatch(Flaky.create({ failTimes: 9, key: 'd' }));
    await waitFor(async () => (await deadLetters.count()) === 2, 5_000, 'two dead letters');
    expect(await deadLetters.replayAll(1)).toBe(1);
    await waitFor(async () => (await deadLetters.count()) === 2, 5_000, 'the replayed one to die again');
    expect(await deadLetters.purge()).toBe(2);
    expect(await deadLetters.count()).toBe(0);
  });

  it('dead-letters an invalid message at once (no retries), as the outcome table says', async () => {
    const { consumer, sender, deadLetters, seen } = await pair({}, { attempts: 5, backoff: 10 });
    await consumer.start();
    await sender.commandBus.dispatch(Strict.create({} as { n: number }));
    await waitFor(async () => (await deadLetters.count()) === 1, 5_000, 'the dead letter');
    const [letter] = await deadLetters.list();
    expect(letter!.attemptsMade).toBe(1);
    expect(letter!.failedReason).toMatch(/^SWITCHYARD_VALIDATION_ERROR: /);
    expect(seen.errors[0]!.context).toMatchObject({ stage: 'receive', failure: 'validation' });
  });

  it('answers queries by NOTIFY, and a reply larger than a NOTIFY payload through the reply table', async () => {
    const { consumer, sender } = await pair();
    await consumer.start();
    await expect(sender.queryBus.dispatch(Double.create({ n: 21 }))).resolves.toEqual({ doubled: 42 });
    const big = await sender.queryBus.dispatch(Big.create({ size: 100_000 }));
    expect(big.blob).toHaveLength(100_000);
    const stored = await pool.query(`SELECT count(*)::integer AS n FROM "${schema}".queue_replies`);
    expect(stored.rows[0].n).toBe(0); // read and deleted by the producer
  });

  it('shares a queue between competing consumers: each message handled once', async () => {
    const { consumer, sender, seen, queueName } = await pair({ concurrency: 8 });
    const handledBySecond: string[] = [];
    const secondHandlers = new CommandRouter();
    secondHandlers.route(Work).to((command) => {
      handledBySecond.push(command.id);
    });
    const secondBus = new CommandBus();
    secondBus.use(secondHandlers);
    const second = new PostgresConsumer({
      connection: PG_URL,
      schema,
      queueName,
      concurrency: 8,
      commandBus: secondBus,
    });
    closers.push(() => second.close());
    await Promise.all([consumer.start(), second.start()]);
    const commands = Array.from({ length: 1_000 }, (_, n) => Work.create({ n }));
    await Promise.all(commands.map((command) => sender.commandBus.dispatch(command)));
    await waitFor(() => seen.handled.length + handledBySecond.length >= 1_000, 20_000, 'all 1,000');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const all = [...seen.handled.map((entry) => entry.id), ...handledBySecond];
    expect(all).toHaveLength(1_000);
    expect(new Set(all).size).toBe(1_000);
    expect(seen.handled.length).toBeGreaterThan(0);
    expect(handledBySecond.length).toBeGreaterThan(0);
  });

  it('stores a message id once: re-sending a queued message does not queue it twice', async () => {
    const { producer, queueName } = await pair();
    const command = Work.create({ n: 1 });
    await producer.produce(command);
    await producer.produce(command);
    expect(await rows(queueName)).toHaveLength(1);
  });

  it('tick mode: nothing runs by itself; tick() handles what is ready and says how many', async () => {
    const { consumer, sender, seen } = await pair({ mode: 'tick', concurrency: 4 });
    await consumer.start();
    await Promise.all(Array.from({ length: 25 }, (_, n) => sender.commandBus.dispatch(Work.create({ n }))));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(seen.handled).toHaveLength(0);
    expect(await consumer.tick()).toBe(25);
    expect(seen.handled).toHaveLength(25);
    expect(await consumer.tick()).toBe(0);
  });

  it("enqueue(client, …) queues inside the caller's transaction: rolled back → never sent, committed → handled", async () => {
    const { consumer, producer, seen, queueName } = await pair();
    await consumer.start();
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await producer.enqueue(client, Work.create({ n: 1 }));
      await client.query('ROLLBACK');
      const committed = Work.create({ n: 2 });
      await client.query('BEGIN');
      await producer.enqueue(client, committed, Work.create({ n: 3 }));
      expect(await rows(queueName)).toHaveLength(0); // not visible before the commit
      await client.query('COMMIT');
      await waitFor(() => seen.handled.length === 2, 5_000, 'the committed messages');
      expect(seen.handled.map((entry) => entry.id)).toContain(committed.id);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seen.handled).toHaveLength(2);
      const refused = await producer
        .enqueue(client, Double.create({ n: 1 }))
        .catch((error: unknown) => error);
      expect(isSwitchyardError(refused, ErrorCode.InvalidConfiguration)).toBe(true);
    } finally {
      client.release();
    }
  });

  it('tick() on a listening consumer is a configuration error', async () => {
    const { consumer } = await pair();
    const error = await consumer.tick().catch((caught: unknown) => caught);
    expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
  });
});
