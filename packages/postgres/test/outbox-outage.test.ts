import { defineEvent, ErrorCode, EventBus, EventRouter, isSwitchyardError } from '@switchyard/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxRelay, PostgresOutbox } from '../src/index.ts';
import { waitFor } from './outbox-kit.ts';
import { dropSchema, migratedSchema, testPool } from './pg-test-kit.ts';
import { TcpProxy } from './tcp-proxy.ts';

const Ping = defineEvent<{ n: number }>('Ping');
let pool: pg.Pool;
let schema: string;

beforeAll(async () => {
  pool = testPool();
  schema = await migratedSchema(pool, 'outbox_outage');
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

function busTo(outbox: PostgresOutbox): EventBus {
  const router = new EventRouter();
  router.route(Ping).to(outbox.to('local'));
  const bus = new EventBus();
  bus.use(router);
  return bus;
}

async function failure(promise: Promise<unknown>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { error, ms: Date.now() - started };
}

describe('PostgreSQL unreachable', () => {
  it('refused connections: transaction(), autocommit writes and relay.start() reject with a TransportError', async () => {
    const down = new pg.Pool({ connectionString: 'postgres://postgres@127.0.0.1:1/test' });
    down.on('error', () => undefined);
    try {
      const outbox = new PostgresOutbox({ pool: down, schema, unbound: 'autocommit' });
      const tx = await failure(outbox.transaction(async () => undefined));
      expect(isSwitchyardError(tx.error, ErrorCode.TransportError)).toBe(true);
      expect((tx.error as Error).message).toMatch(/cannot connect to PostgreSQL: .*ECONNREFUSED/);
      const write = await failure(busTo(outbox).dispatch(Ping.create({ n: 1 })));
      expect(isSwitchyardError(write.error, ErrorCode.TransportError)).toBe(true);
      const relay = new OutboxRelay({ connection: down, schema, targets: { local: new EventBus() } });
      const start = await failure(relay.start());
      expect(isSwitchyardError(start.error, ErrorCode.TransportError)).toBe(true);
      await relay.close();
    } finally {
      await down.end();
    }
  });

  it('a server that accepts and never answers: rejected within connectTimeoutMs, no hang', async () => {
    const silent = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    await silent.start();
    silent.blackhole();
    const hung = new pg.Pool({ connectionString: `postgres://postgres@127.0.0.1:${silent.port}/test` });
    hung.on('error', () => undefined);
    try {
      const outbox = new PostgresOutbox({ pool: hung, schema, connectTimeoutMs: 300 });
      const tx = await failure(outbox.transaction(async () => undefined));
      expect(isSwitchyardError(tx.error, ErrorCode.TransportError)).toBe(true);
      expect((tx.error as Error).message).toMatch(/no PostgreSQL connection within 300 ms/);
      expect(tx.ms).toBeLessThan(3_000);
      const relay = new OutboxRelay({
        connection: hung,
        schema,
        targets: { local: new EventBus() },
        connectTimeoutMs: 300,
      });
      const start = await failure(relay.start());
      expect(isSwitchyardError(start.error, ErrorCode.TransportError)).toBe(true);
      expect(start.ms).toBeLessThan(3_000);
      await relay.close();
    } finally {
      await silent.stop();
      await hung.end().catch(() => undefined);
    }
  });

  it('an outage while the relay runs: errors reported, then it recovers by itself and delivers', {
    timeout: 30_000,
  }, async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 5432 });
    await proxy.start();
    const port = proxy.port;
    const delivered: number[] = [];
    const router = new EventRouter();
    router.route(Ping).to((event) => void delivered.push(event.payload.n));
    const target = new EventBus();
    target.use(router);
    const reported: { code: unknown; stage: string }[] = [];
    const relay = new OutboxRelay({
      connection: `postgres://postgres@127.0.0.1:${port}/test`,
      schema,
      targets: { local: target },
      pollIntervalMs: 100,
      connectTimeoutMs: 500,
      onError: (error, context) =>
        reported.push({ code: (error as { code?: unknown }).code, stage: context.stage }),
    });
    const outbox = new PostgresOutbox({ pool, schema });
    const eventBus = busTo(outbox);
    try {
      await relay.start();
      await outbox.transaction(() => eventBus.dispatch(Ping.create({ n: 1 })));
      await waitFor(() => delivered.length === 1, 5_000, 'the first message');

      await proxy.stop();
      await outbox.transaction(() => eventBus.dispatch(Ping.create({ n: 2 })));
      await waitFor(() => reported.length >= 2, 5_000, 'the outage to be reported');
      expect(delivered.filter((n) => n !== 1)).toEqual([]);
      expect(reported.every((entry) => entry.stage === 'connection')).toBe(true);
      expect(reported.some((entry) => entry.code === ErrorCode.TransportError)).toBe(true);

      await proxy.start();
      await outbox.transaction(() => eventBus.dispatch(Ping.create({ n: 3 })));
      await waitFor(() => new Set(delivered).size === 3, 10_000, 'delivery after the outage');
      // At least once: the cut may fall between a delivery and its batch's commit, and then that
      // message comes again. Each message's first delivery is in commit order.
      expect([...new Set(delivered)]).toEqual([1, 2, 3]);
      expect(delivered.length).toBeLessThanOrEqual(4);
    } finally {
      await relay.close();
      await proxy.stop();
    }
  });
});
