import { waitFor } from '@switchyard/conformance';
import {
  createSwitchyard,
  DEAD_LETTER,
  defineCommand,
  handle,
  inMemoryTransport,
  type Switchyard,
} from '@switchyard/core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresTransport } from '../src/index.ts';
import { dropSchema, migratedSchema, testPool } from './pg-test-kit.ts';

const Ship = defineCommand<{ orderId: string }>('Ship');
const Bill = defineCommand<{ orderId: string }>('Bill');

let pool: pg.Pool;
let schema: string;
let app: Switchyard;
let broken = true;
const handled: string[] = [];

beforeAll(async () => {
  pool = testPool(4);
  schema = await migratedSchema(pool, 'dlsink');
  const fail = (what: string) => (command: { payload: { orderId: string } }) => {
    if (broken) throw new Error(`${what} ${command.payload.orderId}: the warehouse is closed`);
    handled.push(`${what} ${command.payload.orderId}`);
  };
  app = createSwitchyard({
    transports: {
      // A consumer that keeps no dead letters of its own, as HTTP and ZeroMQ.
      shipping: inMemoryTransport(),
      billing: postgresTransport({
        connection: pool,
        queueName: 'billing',
        schema,
        producer: { attempts: 1 },
        consumer: { pollIntervalMs: 50 },
      }),
      dlq: postgresTransport({ connection: pool, queueName: 'dead-letters', schema }),
    },
    routes: { Ship: 'shipping', Bill: 'billing' },
    deadLetters: 'dlq',
    handlers: [handle(Ship, fail('ship')), handle(Bill, fail('bill'))],
    onError: () => {},
  });
  await app.start();
});

afterAll(async () => {
  await app?.close();
  await dropSchema(pool, schema);
  await pool.end();
});

describe('a PostgreSQL queue as the dead-letter sink, next to PostgreSQL’s own dead letters', () => {
  const ship = Ship.create({ orderId: 'o1' });
  const bill = Bill.create({ orderId: 'o2' });

  it('keeps the letter as a ready row of the sink queue, and lists both kinds through one API', async () => {
    await app.commandBus.dispatch(ship);
    await app.commandBus.dispatch(bill);
    await waitFor(async () => (await app.deadLetters.count()) === 2, 15_000, 'two dead letters');
    const row = await pool.query<{ envelope: string; state: string }>(
      `SELECT envelope, state FROM "${schema}".queue_messages WHERE queue = 'dead-letters' AND message_id = $1`,
      [ship.id],
    );
    expect(row.rows[0]!.state).toBe('ready');
    const stored = JSON.parse(row.rows[0]!.envelope) as { metadata: Record<string, { origin: unknown }> };
    expect(stored.metadata[DEAD_LETTER]!.origin).toEqual({
      transport: 'shipping',
      kind: 'in-memory',
      address: 'in-memory',
    });

    expect(app.deadLetters.transports).toEqual(['billing', 'dlq']);
    const letters = await app.deadLetters.list();
    expect(letters.map((letter) => [letter.transport, letter.id, letter.name]).sort()).toEqual(
      [
        ['billing', bill.id, 'Bill'],
        ['dlq', ship.id, 'Ship'],
      ].sort(),
    );
    const shipped = letters.find((letter) => letter.name === 'Ship')!;
    expect(shipped.error).toContain('ship o1: the warehouse is closed');
    expect(shipped.code).toBe('SWITCHYARD_HANDLER_FAILED');
    expect(letters.find((letter) => letter.name === 'Bill')!.error).toContain('bill o2');
  });

  it('replays both after the fix (the sink letter over its route, the queue’s own in place), then purges', async () => {
    broken = false;
    expect(await app.deadLetters.replayAll()).toBe(2);
    await waitFor(() => handled.length === 2, 15_000, 'both handled');
    expect(handled.sort()).toEqual(['bill o2', 'ship o1']);
    expect(await app.deadLetters.count()).toBe(0);

    broken = true;
    const again = Ship.create({ orderId: 'o3' });
    await app.commandBus.dispatch(again);
    await waitFor(async () => (await app.deadLetters.count('dlq')) === 1, 10_000, 'a new letter');
    expect(await app.deadLetters.get('dlq', again.id)).toMatchObject({ name: 'Ship', attempts: 1 });
    expect(await app.deadLetters.purge('dlq', again.id)).toBe(1);
    expect(await app.deadLetters.purge('dlq')).toBe(0);
  });
});
