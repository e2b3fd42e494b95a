import {
  type AnyMessage,
  CommandBus,
  CommandRouter,
  createSwitchyard,
  defineCommand,
  defineEvent,
  defineQuery,
  ErrorCode,
  EventBus,
  EventRouter,
  handle,
  InMemoryChannel,
  InMemoryConsumer,
  InMemoryProducer,
  inMemoryTransport,
  isSwitchyardError,
  QueryRouter,
  RECEIVED_FROM,
} from '@switchyard/core';
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OUTBOX_STREAM, OutboxRelay, PostgresOutbox } from '../src/index.ts';
import { commitOrder, recordCommitOrder, sleep, waitFor } from './outbox-kit.ts';
import { dropSchema, migratedSchema, PG_URL, testPool } from './pg-test-kit.ts';

const UserRegistered = defineEvent<{ email: string }>('UserRegistered');
const SendWelcome = defineCommand<{ email: string }>('SendWelcome');
const Numbered = defineEvent<{ n: number }>('Numbered');

let pool: pg.Pool;
let schema: string;

beforeAll(async () => {
  pool = testPool(20);
  schema = await migratedSchema(pool, 'outbox');
  await pool.query(`CREATE TABLE "${schema}".users (email text PRIMARY KEY)`);
  await recordCommitOrder(pool, schema);
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

async function outboxRows(): Promise<number> {
  const result = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".outbox_messages`);
  return result.rows[0].n;
}

/** The application side: an event bus whose UserRegistered goes to the outbox for `target`. */
function appBus(outbox: PostgresOutbox, target: string): EventBus {
  const router = new EventRouter();
  router.route(UserRegistered).to(outbox.to(target));
  router.route(Numbered).to(outbox.to(target));
  const bus = new EventBus();
  bus.use(router);
  return bus;
}

/** The receiving side: a bus whose listeners record what arrived, in order. */
function receivingBus(): { bus: EventBus; received: AnyMessage[] } {
  const received: AnyMessage[] = [];
  const router = new EventRouter();
  router.route(UserRegistered).to((event) => void received.push(event));
  router.route(Numbered).to((event) => void received.push(event));
  const bus = new EventBus();
  bus.use(router);
  return { bus, received };
}

describe('PostgresOutbox with node-postgres', () => {
  it('writes a dispatched event in the handler transaction: commit → forwarded over the in-memory transport, rollback → never', async () => {
    const channel = new InMemoryChannel();
    const { bus: workerBus, received } = receivingBus();
    const consumer = new InMemoryConsumer({ channel, eventBus: workerBus });
    const producer = new InMemoryProducer({ channel });
    const outbox = new PostgresOutbox({ pool, schema, targets: { users: producer } });
    const eventBus = appBus(outbox, 'users');
    const relay = new OutboxRelay({ connection: pool, schema, targets: { users: producer } });
    await consumer.start();
    try {
      // The handler's code: a row and an event, nothing outbox-specific.
      const register = async (client: pg.PoolClient, email: string) => {
        await client.query(`INSERT INTO "${schema}".users (email) VALUES ($1)`, [email]);
        await eventBus.dispatch(UserRegistered.create({ email }));
      };
      await outbox.transaction((client) => register(client, 'ada@example.com'));
      await expect(
        outbox.transaction(async (client) => {
          await register(client, 'rolled@example.com');
          throw new Error('payment declined');
        }),
      ).rejects.toThrow('payment declined');
      expect(await outboxRows()).toBe(1); // committed, not yet forwarded: the relay is not running

      await relay.start();
      await waitFor(() => received.length === 1, 5_000, 'the committed event');
      expect(received[0]?.payload).toEqual({ email: 'ada@example.com' });
      expect(received[0]?.metadata[RECEIVED_FROM]).toBe('in-memory');
      await waitFor(async () => (await outboxRows()) === 0, 5_000, 'the outbox to empty');
      await sleep(100);
      expect(received).toHaveLength(1); // the rolled-back one never comes
      const users = await pool.query(`SELECT email FROM "${schema}".users ORDER BY email`);
      expect(users.rows).toEqual([{ email: 'ada@example.com' }]);
    } finally {
      await relay.close();
      await consumer.close();
      await producer.close();
    }
  });

  it('is woken by NOTIFY: a commit is forwarded well before the next poll', async () => {
    const { bus: target, received } = receivingBus();
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    const relay = new OutboxRelay({
      connection: pool,
      schema,
      targets: { local: target },
      pollIntervalMs: 60_000,
    });
    await relay.start();
    try {
      await sleep(50); // the relay's first (empty) batch is done; it now sleeps for a minute
      const started = Date.now();
      await outbox.transaction(() => eventBus.dispatch(Numbered.create({ n: 1 })));
      await waitFor(() => received.length === 1, 5_000, 'the event');
      expect(Date.now() - started).toBeLessThan(2_000);
    } finally {
      await relay.close();
    }
  });

  it('writes without NOTIFY when told (notify: false): the relay finds the message at its next poll', async () => {
    const { bus: target, received } = receivingBus();
    const outbox = new PostgresOutbox({ pool, schema, notify: false });
    const eventBus = appBus(outbox, 'local');
    const relay = new OutboxRelay({
      connection: pool,
      schema,
      targets: { local: target },
      pollIntervalMs: 500,
    });
    await relay.start();
    try {
      await sleep(50); // the relay's first (empty) batch is done; it sleeps until its next poll
      await outbox.transaction(() => eventBus.dispatch(Numbered.create({ n: 1 })));
      const committed = Date.now();
      await sleep(150);
      expect(received).toHaveLength(0); // no NOTIFY: not woken
      await waitFor(() => received.length === 1, 5_000, 'the polled event');
      expect(Date.now() - committed).toBeGreaterThanOrEqual(150);
    } finally {
      await relay.close();
    }
  });

  it('polls when it does not listen (listen: false)', async () => {
    const { bus: target, received } = receivingBus();
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    const relay = new OutboxRelay({
      connection: pool,
      schema,
      targets: { local: target },
      listen: false,
      pollIntervalMs: 50,
    });
    await relay.start();
    try {
      await outbox.transaction(() => eventBus.dispatch(Numbered.create({ n: 1 })));
      await waitFor(() => received.length === 1, 5_000, 'the polled event');
    } finally {
      await relay.close();
    }
  });

  it('routes commands through the outbox too, and hands them to a local bus as received messages', async () => {
    const handled: string[] = [];
    const outbox = new PostgresOutbox({ pool, schema });
    const router = new CommandRouter();
    // One routing table for both sides: sent through the outbox, run by the handler on arrival.
    router
      .route(SendWelcome)
      .to(outbox.to('commands'))
      .to((command) => {
        handled.push(command.payload.email);
      });
    const commandBus = new CommandBus();
    commandBus.use(router);
    const relay = new OutboxRelay({ connection: pool, schema, targets: { commands: commandBus } });
    await relay.start();
    try {
      await outbox.transaction(async () => {
        await commandBus.dispatch(SendWelcome.create({ email: 'grace@example.com' }));
        await sleep(50);
        expect(handled).toEqual([]); // not run in the transaction: only staged, sent after the commit
      });
      await waitFor(() => handled.length === 1, 5_000, 'the command');
      expect(handled).toEqual(['grace@example.com']);
    } finally {
      await relay.close();
    }
  });

  it('refuses a dispatch with no transaction bound (ConfigurationError), or writes it alone with unbound: autocommit', async () => {
    const strict = appBus(new PostgresOutbox({ pool, schema }), 'local');
    const error = await strict.dispatch(Numbered.create({ n: 1 })).catch((caught: unknown) => caught);
    expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
    expect((error as Error).message).toMatch(/outside a transaction.*outbox\.transaction/);
    expect(await outboxRows()).toBe(0);

    const lenient = appBus(new PostgresOutbox({ pool, schema, unbound: 'autocommit' }), 'local');
    await lenient.dispatch(Numbered.create({ n: 2 }));
    expect(await outboxRows()).toBe(1);
    await pool.query(`DELETE FROM "${schema}".outbox_messages`);
  });

  it('binds a pg client the application began itself, and joins an outer transaction()', async () => {
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await outbox.bind(client, () => eventBus.dispatch(Numbered.create({ n: 1 })));
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await outboxRows()).toBe(0);
    await outbox
      .transaction(async () => {
        await outbox.transaction(() => eventBus.dispatch(Numbered.create({ n: 2 })));
        expect(outbox.bound).toBe(true);
        throw new Error('outer fails');
      })
      .catch(() => undefined);
    expect(await outboxRows()).toBe(0); // the inner one joined the outer, and went with it
  });

  it('rejects a transaction that PostgreSQL aborted, instead of resolving as if it had committed', async () => {
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    const swallowed = (client: pg.PoolClient) => client.query('SELECT 1/0').catch(() => undefined);
    // With messages: writing them into the aborted transaction fails, so it rolls back.
    const withMessages = await outbox
      .transaction(async (client) => {
        await eventBus.dispatch(Numbered.create({ n: 1 }));
        await swallowed(client);
      })
      .catch((caught: unknown) => caught);
    expect(isSwitchyardError(withMessages, ErrorCode.TransportError)).toBe(true);
    expect((withMessages as Error).message).toMatch(
      /writing 1 message\(s\) failed: current transaction is aborted/,
    );
    // Without: PostgreSQL answers COMMIT with ROLLBACK, which is reported as such.
    const without = await outbox.transaction(swallowed).catch((caught: unknown) => caught);
    expect(isSwitchyardError(without, ErrorCode.TransportError)).toBe(true);
    expect((without as Error).message).toMatch(/rolled the transaction back at COMMIT/);
    expect(await outboxRows()).toBe(0);
  });

  it('refuses a dispatch that comes after its transaction finished', async () => {
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    let late: Promise<unknown> | undefined;
    await outbox.transaction(async () => {
      late = sleep(20).then(() => eventBus.dispatch(Numbered.create({ n: 1 }))); // not awaited
    });
    const error = await late?.catch((caught: unknown) => caught);
    expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
    expect((error as Error).message).toMatch(/after its transaction finished/);
    expect(await outboxRows()).toBe(0);
  });

  it('forwards each stream in commit order, whatever order the transactions began in', async () => {
    const { bus: target, received } = receivingBus();
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    // 40 concurrent transactions on one stream, each doing other work for a random time after its
    // dispatch: begin order, dispatch order and commit order all differ.
    const messages = Array.from({ length: 40 }, (_, n) => Numbered.create({ n }));
    await Promise.all(
      messages.map(async (message) => {
        await sleep(Math.random() * 10);
        await outbox.transaction(async () => {
          await eventBus.dispatch(message);
          await sleep(1 + Math.random() * 15);
        });
      }),
    );
    const seq = await commitOrder(pool, schema);
    const committed = [...messages]
      .sort((a, b) => seq.get(a.id)! - seq.get(b.id)!)
      .map((message) => message.payload.n);
    const relay = new OutboxRelay({ connection: pool, schema, targets: { local: target } });
    await relay.start();
    try {
      await waitFor(() => received.length === 40, 10_000, '40 events');
      expect(received.map((event) => (event.payload as { n: number }).n)).toEqual(committed);
    } finally {
      await relay.close();
    }
  });

  it("keeps streams apart: a stream's failing head holds that stream only", async () => {
    const { bus: target, received } = receivingBus();
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    let failing = true;
    const guarded = new EventBus();
    const router = new EventRouter();
    router.route(Numbered).to(async (event) => {
      if (failing && event.metadata[OUTBOX_STREAM] === 'blocked') throw new Error('downstream busy');
      await target.dispatch(event);
    });
    guarded.use(router);
    await outbox.transaction(async () => {
      for (let n = 0; n < 3; n++) {
        await eventBus.dispatch(Numbered.create({ n }, { metadata: { [OUTBOX_STREAM]: 'blocked' } }));
        await eventBus.dispatch(Numbered.create({ n: 10 + n }, { metadata: { [OUTBOX_STREAM]: 'free' } }));
      }
    });
    const relay = new OutboxRelay({
      connection: pool,
      schema,
      targets: { local: guarded },
      backoffMs: 20,
      onError: () => undefined, // the failures here are on purpose
    });
    await relay.start();
    try {
      await waitFor(() => received.length === 3, 5_000, 'the free stream');
      expect(received.map((event) => (event.payload as { n: number }).n)).toEqual([10, 11, 12]);
      failing = false;
      await waitFor(() => received.length === 6, 5_000, 'the blocked stream after it recovered');
      expect(received.slice(3).map((event) => (event.payload as { n: number }).n)).toEqual([0, 1, 2]);
    } finally {
      await relay.close();
    }
  });

  it('serves more streams than one claim visits (256): every stream gets its turn, each in order', async () => {
    const { bus: target, received } = receivingBus();
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    const STREAMS = 700;
    await outbox.transaction(async () => {
      for (let n = 0; n < 3; n++) {
        for (let stream = 0; stream < STREAMS; stream++) {
          await eventBus.dispatch(
            Numbered.create({ n }, { metadata: { [OUTBOX_STREAM]: `entity-${stream}` } }),
          );
        }
      }
    });
    const relay = new OutboxRelay({ connection: pool, schema, targets: { local: target }, concurrency: 64 });
    await relay.start();
    try {
      await waitFor(() => received.length >= 3 * STREAMS, 30_000, `${3 * STREAMS} events`);
      expect(received).toHaveLength(3 * STREAMS);
      const byStream = new Map<unknown, number[]>();
      for (const event of received) {
        const key = event.metadata[OUTBOX_STREAM];
        byStream.set(key, [...(byStream.get(key) ?? []), (event.payload as { n: number }).n]);
      }
      expect(byStream.size).toBe(STREAMS);
      for (const order of byStream.values()) expect(order).toEqual([0, 1, 2]);
    } finally {
      await relay.close();
    }
  });

  it('does not starve a stream behind more than 256 streams waiting for a retry', async () => {
    const delivered: string[] = [];
    const router = new EventRouter();
    router.route(Numbered).to((event) => {
      const stream = String(event.metadata[OUTBOX_STREAM]);
      if (stream.startsWith('a-')) throw new Error('this target is down');
      delivered.push(stream);
    });
    const target = new EventBus();
    target.use(router);
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    await outbox.transaction(async () => {
      for (let stream = 0; stream < 300; stream++) {
        const key = `a-${String(stream).padStart(3, '0')}`;
        await eventBus.dispatch(Numbered.create({ n: stream }, { metadata: { [OUTBOX_STREAM]: key } }));
      }
      await eventBus.dispatch(Numbered.create({ n: 0 }, { metadata: { [OUTBOX_STREAM]: 'z' } }));
    });
    const relay = new OutboxRelay({
      connection: pool,
      schema,
      targets: { local: target },
      backoffMs: 60_000,
      onError: () => undefined, // the 300 failures are on purpose
    });
    await relay.start();
    try {
      await waitFor(() => delivered.length === 1, 10_000, 'stream "z", behind 300 streams in backoff');
      expect(delivered).toEqual(['z']);
    } finally {
      await relay.close();
      await pool.query(`DELETE FROM "${schema}".outbox_messages`);
    }
  });

  it('lets two relays share the outbox: every message forwarded once, each stream in order', async () => {
    const { bus: target, received } = receivingBus();
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'local');
    const streams = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let batch = 0; batch < 10; batch++) {
      await outbox.transaction(async () => {
        for (const stream of streams) {
          await eventBus.dispatch(Numbered.create({ n: batch }, { metadata: { [OUTBOX_STREAM]: stream } }));
        }
      });
    }
    const relays = [1, 2].map(
      () =>
        new OutboxRelay({
          connection: pool,
          schema,
          targets: { local: target },
          concurrency: 2,
          batchSize: 3,
        }),
    );
    await Promise.all(relays.map((relay) => relay.start()));
    try {
      await waitFor(() => received.length >= 60, 10_000, '60 events');
      await waitFor(async () => (await outboxRows()) === 0, 5_000, 'the outbox to empty');
      expect(received).toHaveLength(60);
      for (const stream of streams) {
        const order = received
          .filter((event) => event.metadata[OUTBOX_STREAM] === stream)
          .map((event) => (event.payload as { n: number }).n);
        expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      }
    } finally {
      await Promise.all(relays.map((relay) => relay.close()));
    }
  });

  it('wraps a named transport for createSwitchyard: one configuration change, served by the inner transport', async () => {
    const received: string[] = [];
    const outbox = new PostgresOutbox({ pool, schema });
    const inner = inMemoryTransport();
    const app = createSwitchyard({
      definitions: [UserRegistered],
      transports: { durable: outbox.transport('durable', inner) }, // was: { durable: inner }
      routes: { UserRegistered: 'durable' },
      handlers: [handle(UserRegistered, (event) => void received.push(event.payload.email))],
    });
    const toInner = inner.createProducer();
    const relay = new OutboxRelay({ connection: pool, schema, targets: { durable: toInner } });
    await app.start();
    await relay.start();
    try {
      await outbox.transaction(() =>
        app.eventBus.dispatch(UserRegistered.create({ email: 'wired@example.com' })),
      );
      await expect(
        app.eventBus.dispatch(UserRegistered.create({ email: 'unbound@example.com' })),
      ).rejects.toThrow(/outside a transaction/);
      await waitFor(
        () => received.length === 1,
        5_000,
        'the event through outbox, relay and in-memory transport',
      );
      expect(received).toEqual(['wired@example.com']);
    } finally {
      await relay.close();
      await app.close();
      await toInner.close();
    }
  });

  it('closes within closeTimeoutMs even when a target never answers; the message stays for later', async () => {
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = appBus(outbox, 'stuck');
    let attempts = 0;
    const stuck = new EventBus();
    const router = new EventRouter();
    router.route(Numbered).to(() => {
      attempts++;
      return new Promise(() => undefined); // never settles
    });
    stuck.use(router);
    await outbox.transaction(() => eventBus.dispatch(Numbered.create({ n: 1 })));
    // Its own pool (from a URL), which close() ends: that waits for the batch's connection.
    const relay = new OutboxRelay({ connection: PG_URL, schema, targets: { stuck }, closeTimeoutMs: 200 });
    await relay.start();
    await waitFor(() => attempts === 1, 5_000, 'the delivery to start');
    const started = Date.now();
    await relay.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const rows = await pool.query(
      `SELECT attempts_made FROM "${schema}".outbox_messages WHERE target = 'stuck'`,
    );
    expect(rows.rows).toEqual([{ attempts_made: 0 }]); // not counted as a failed attempt
    await expect(relay.tick()).rejects.toThrow(/closed/);
    await pool.query(`DELETE FROM "${schema}".outbox_messages`);
  });

  it('gives its route target a lifecycle: start() names it, close() refuses further messages', async () => {
    const outbox = new PostgresOutbox({ pool, schema });
    const producer = outbox.to('lifecycle');
    expect(await producer.start()).toBe(`outbox:${schema}/lifecycle`);
    expect(producer.capabilities).toEqual({ replies: false, confirmsHandling: false, durable: true });
    await producer.close();
    const error = await outbox
      .transaction(() => producer.produce(Numbered.create({ n: 1 })))
      .catch((caught: unknown) => caught);
    expect(isSwitchyardError(error, ErrorCode.ProducerClosed)).toBe(true);
    const query = defineQuery<{ id: string }, string>('GetThing');
    expect(() => new QueryRouter().route(query).to(outbox.to('x'))).toThrow(/does not carry replies/);
  });

  it('checks its options and the schema', async () => {
    expect(() => new PostgresOutbox({ schema: 'bad-name' })).toThrow(/schema must match/);
    expect(() => new PostgresOutbox({ unbound: 'autocommit' })).toThrow(/needs a pool/);
    const outbox = new PostgresOutbox({ pool, schema });
    expect(() => outbox.to('')).toThrow(/target name/);
    expect(() => outbox.to(new EventBus())).toThrow(/not in the outbox's targets/);
    expect(outbox.to('x')).toBe(outbox.to('x'));
    expect(() => new OutboxRelay({ connection: pool, schema, targets: { x: 42 as never } })).toThrow(
      /neither a MessageProducer nor a bus/,
    );
    expect(() => new OutboxRelay({ connection: pool, schema, targets: {}, batchSize: 0 })).toThrow(
      /batchSize/,
    );
    const unmigrated = new OutboxRelay({
      connection: pool,
      schema: 'switchyard_never_migrated',
      targets: {},
    });
    await expect(unmigrated.start()).rejects.toThrow(/migrate\(pool/);
    await unmigrated.close();
  });
});

describe('PostgresOutbox with Kysely', () => {
  interface Database {
    users: { email: string };
  }

  it('writes into the Kysely transaction: commit → forwarded, rollback → never', async () => {
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      // The users table lives in the test schema.
    }).withSchema(schema);
    const { bus: target, received } = receivingBus();
    const outbox = new PostgresOutbox({ schema });
    const eventBus = appBus(outbox, 'local');
    const relay = new OutboxRelay({ connection: pool, schema, targets: { local: target } });
    await relay.start();
    try {
      const register = (email: string, fail: boolean) =>
        db.transaction().execute((trx) =>
          outbox.bind(trx, async () => {
            await trx.insertInto('users').values({ email }).execute();
            await eventBus.dispatch(UserRegistered.create({ email }));
            if (fail) throw new Error('rolled back');
          }),
        );
      await register('kysely@example.com', false);
      await expect(register('kysely-rolled@example.com', true)).rejects.toThrow('rolled back');
      await waitFor(() => received.length === 1, 5_000, 'the committed event');
      await sleep(100);
      expect(received.map((event) => event.payload)).toEqual([{ email: 'kysely@example.com' }]);
      const users = await db.selectFrom('users').select('email').where('email', 'like', 'kysely%').execute();
      expect(users).toEqual([{ email: 'kysely@example.com' }]);
    } finally {
      await relay.close();
    }
  });
});
