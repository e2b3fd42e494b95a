import { type ChildProcess, spawn } from 'node:child_process';
import { freePort } from '@switchyard/conformance';
import {
  CommandBus,
  CommandRouter,
  defineCommand,
  defineQuery,
  ErrorCode,
  type ErrorContext,
  isSwitchyardError,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BullMQConsumer, BullMQProducer } from '../src/index.ts';
import { sleep, waitFor } from './redis-test-kit.ts';

const Ping = defineCommand<{ n: number }>('Ping');
const Lookup = defineQuery<{ n: number }, number>('Lookup');
const servers = new Set<ChildProcess>();

afterAll(() => {
  for (const server of servers) if (server.exitCode === null) server.kill('SIGKILL');
});

async function startRedis(port: number): Promise<ChildProcess> {
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  servers.add(server);
  const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await waitFor(
      async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG';
        } catch {
          probe.disconnect();
          return false;
        }
      },
      10_000,
      `redis-server on port ${port}`,
    );
  } finally {
    probe.disconnect();
  }
  return server;
}

async function stopRedis(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill('SIGKILL');
  await exited;
}

const HUNG = Symbol('hung');

/** The outcome of a dispatch, or HUNG if it did not settle within `ms`. */
function outcome(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([
    promise.then(
      () => 'ok',
      (error: unknown) => error,
    ),
    sleep(ms).then(() => HUNG),
  ]);
}

describe('Redis stopped while a producer dispatches', () => {
  it('resolves or rejects every dispatch with a transport error, none hangs, and recovers after a restart', {
    timeout: 60_000,
  }, async () => {
    const port = await freePort();
    let server = await startRedis(port);
    const reported: ErrorContext[] = [];
    const producer = new BullMQProducer({
      queueName: 'outage',
      prefix: 'sy-outage',
      connection: { port, host: '127.0.0.1' },
      sendTimeoutMs: 3_000,
      onError: (_error, context) => reported.push(context),
    });
    const router = new CommandRouter();
    router.route(Ping).to(producer);
    const bus = new CommandBus();
    bus.use(router);
    const queries = new QueryRouter();
    queries.route(Lookup).to(producer);
    const queryBus = new QueryBus();
    queryBus.use(queries);
    const finders = new QueryRouter();
    finders.route(Lookup).to((query) => query.payload.n + 1);
    const workerQueries = new QueryBus();
    workerQueries.use(finders);
    const consumer = new BullMQConsumer({
      queueName: 'outage-queries',
      prefix: 'sy-outage',
      connection: { port, host: '127.0.0.1' },
      queryBus: workerQueries,
      closeTimeoutMs: 1_000,
      onError: () => undefined, // the worker's connection errors during the outage
    });
    const queryProducer = new BullMQProducer({
      queueName: 'outage-queries',
      prefix: 'sy-outage',
      connection: { port, host: '127.0.0.1' },
      sendTimeoutMs: 3_000,
      replyTimeoutMs: 2_000,
      onError: () => undefined,
    });
    const remoteQueries = new QueryRouter();
    remoteQueries.route(Lookup).to(queryProducer);
    const remoteBus = new QueryBus();
    remoteBus.use(remoteQueries);
    try {
      await consumer.start();
      await expect(remoteBus.dispatch(Lookup.create({ n: 1 }))).resolves.toBe(2);
      const dispatches: Promise<unknown>[] = [];
      for (let n = 0; n < 300; n++) {
        dispatches.push(outcome(bus.dispatch(Ping.create({ n })), 10_000));
        if (n === 100) await stopRedis(server);
        await sleep(2);
      }
      const results = await Promise.all(dispatches);
      expect(results).not.toContain(HUNG);
      const accepted = results.filter((result) => result === 'ok');
      const refused = results.filter((result) => result !== 'ok');
      expect(accepted.length).toBeGreaterThan(0);
      expect(refused.length).toBeGreaterThan(0);
      for (const error of refused) expect(isSwitchyardError(error, ErrorCode.TransportError)).toBe(true);

      // The producer told its onError that Redis went away (it used to drop these errors).
      expect(reported.length).toBeGreaterThan(0);
      expect(reported.every((context) => context.stage === 'connection')).toBe(true);

      server = await startRedis(port);
      await waitFor(
        async () => (await outcome(bus.dispatch(Ping.create({ n: -1 })), 5_000)) === 'ok',
        15_000,
        'a dispatch to succeed after the restart',
      );
      // The reply subscriber is back too: queries are answered again.
      await waitFor(
        async () => (await outcome(remoteBus.dispatch(Lookup.create({ n: 41 })), 5_000)) === 'ok',
        15_000,
        'a query to be answered after the restart',
      );
      await expect(remoteBus.dispatch(Lookup.create({ n: 41 }))).resolves.toBe(42);
      const after = await Promise.all(
        Array.from({ length: 20 }, (_, n) => outcome(bus.dispatch(Ping.create({ n: 1_000 + n })), 5_000)),
      );
      expect(after.every((result) => result === 'ok')).toBe(true);
      const check = new Redis({ port });
      try {
        expect(await check.llen('sy-outage:outage:wait')).toBeGreaterThanOrEqual(21);
      } finally {
        check.disconnect();
      }
    } finally {
      await producer.close();
      await queryProducer.close();
      await consumer.close();
      await stopRedis(server);
    }
  });

  it('rejects promptly with a transport error when Redis is not there at all, commands and queries alike', {
    timeout: 30_000,
  }, async () => {
    const port = await freePort(); // nothing listens here
    const reported: unknown[] = [];
    const producer = new BullMQProducer({
      queueName: 'nowhere',
      connection: { port, host: '127.0.0.1' },
      sendTimeoutMs: 3_000,
      onError: (error) => reported.push(error),
    });
    const commands = new CommandRouter();
    commands.route(Ping).to(producer);
    const commandBus = new CommandBus();
    commandBus.use(commands);
    const queries = new QueryRouter();
    queries.route(Lookup).to(producer);
    const queryBus = new QueryBus();
    queryBus.use(queries);
    try {
      const results = await Promise.all([
        outcome(commandBus.dispatch(Ping.create({ n: 1 })), 10_000),
        outcome(queryBus.dispatch(Lookup.create({ n: 1 })), 10_000),
        outcome(commandBus.dispatch(Ping.create({ n: 2 })), 10_000),
      ]);
      for (const result of results) expect(isSwitchyardError(result, ErrorCode.TransportError)).toBe(true);
      expect(producer.pendingReplies).toBe(0);
      expect(reported.length).toBeGreaterThan(0); // and the connection errors reached onError
    } finally {
      await producer.close();
    }
  });
});
