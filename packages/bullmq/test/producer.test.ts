import {
  Deferred,
  defineCommand,
  defineQuery,
  ErrorCode,
  isSwitchyardError,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BullMQConsumer, BullMQProducer } from '../src/index.ts';
import { deleteKeys, REDIS_URL, sleep, uniquePrefix } from './redis-test-kit.ts';

const Double = defineQuery<{ n: number }, number>('Double');
const Slow = defineQuery<{ ms: number }, string>('Slow');
const Ping = defineCommand<{ n: number }>('Ping');
const prefix = uniquePrefix('producer');
afterAll(() => deleteKeys(prefix));

async function setup(queueName: string, concurrency = 100) {
  const router = new QueryRouter();
  router.route(Double).to((query) => query.payload.n * 2);
  router.route(Slow).to(async (query) => {
    await sleep(query.payload.ms);
    return 'done';
  });
  const queryBus = new QueryBus();
  queryBus.use(router);
  const refused: unknown[] = []; // queries whose caller gave up before a worker took them (expired)
  const consumer = new BullMQConsumer({
    queueName,
    prefix,
    connection: REDIS_URL,
    queryBus,
    concurrency,
    onError: (error) => refused.push(error),
  });
  const producer = new BullMQProducer({ queueName, prefix, connection: REDIS_URL });
  const sendRouter = new QueryRouter();
  sendRouter.route(Double).to(producer);
  sendRouter.route(Slow).to(producer);
  const sender = new QueryBus();
  sender.use(sendRouter);
  await consumer.start();
  return { consumer, producer, sender };
}

describe('BullMQProducer', () => {
  it('coalesces adds issued in the same tick into one addBulk, each with its own promise', async () => {
    const { consumer, producer, sender } = await setup('coalesce');
    await producer.start();
    const batches: number[] = [];
    const addBulk = producer.queue.addBulk.bind(producer.queue);
    producer.queue.addBulk = (jobs) => {
      batches.push(jobs.length);
      return addBulk(jobs);
    };
    try {
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, n) => sender.dispatch(Double.create({ n }))),
      );
      expect(results).toEqual(Array.from({ length: 50 }, (_, n) => n * 2));
      expect(batches).toEqual([50]);
    } finally {
      await producer.close();
      await consumer.close();
    }
  });

  it('keeps no pending entry and raises no listener warning, whatever the concurrency', {
    timeout: 60_000,
  }, async () => {
    const { consumer, producer, sender } = await setup('no-leaks', 200);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const answered = Promise.all(
        Array.from({ length: 3_000 }, (_, n) => sender.dispatch(Double.create({ n }))),
      );
      // Timed-out and aborted queries leave nothing behind either; their late replies are dropped.
      const timedOut = Array.from({ length: 50 }, () =>
        sender.dispatch(Slow.create({ ms: 300 }), { timeoutMs: 50 }).catch((error: unknown) => error),
      );
      const controller = new AbortController();
      const aborted = Array.from({ length: 50 }, () =>
        sender
          .dispatch(Slow.create({ ms: 300 }), { signal: controller.signal })
          .catch((error: unknown) => error),
      );
      setTimeout(() => controller.abort(), 20);
      expect((await answered).every((value, n) => value === n * 2)).toBe(true);
      for (const error of await Promise.all(timedOut))
        expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
      for (const error of await Promise.all(aborted))
        expect(isSwitchyardError(error, ErrorCode.Aborted)).toBe(true);
      expect(producer.pendingReplies).toBe(0);
      await sleep(500); // the late replies arrive now
      expect(producer.pendingReplies).toBe(0);
      expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
      await producer.close();
      await consumer.close();
    }
  });

  it('does not send a query whose caller already gave up', async () => {
    const producer = new BullMQProducer({ queueName: 'given-up', prefix, connection: REDIS_URL });
    try {
      const deferred = new Deferred<unknown>();
      deferred.reject(new Error('caller aborted'));
      await deferred.promise.catch(() => undefined);
      await producer.produce(Double.create({ n: 1 }), { deferred });
      await producer.produce(Double.create({ n: 2 })); // a query without a deferred still goes out
      expect(await producer.queue.getWaitingCount()).toBe(1);
      expect(producer.pendingReplies).toBe(0);
    } finally {
      await producer.close();
    }
  });

  it('does not send a message whose caller gave up while it waited for its batch', async () => {
    const producer = new BullMQProducer({ queueName: 'gave-up-in-batch', prefix, connection: REDIS_URL });
    try {
      await producer.start();
      // Both are handed to the wire at once; their batch leaves on the next tick, after they gave up.
      const deferred = new Deferred<unknown>();
      const query = producer.produce(Double.create({ n: 1 }), { deferred });
      deferred.reject(new Error('caller timed out'));
      await deferred.promise.catch(() => undefined);
      const controller = new AbortController();
      const command = producer.produce(Ping.create({ n: 2 }), { signal: controller.signal });
      controller.abort();
      await expect(query).resolves.toBeUndefined(); // its deferred was settled by the caller already
      expect(isSwitchyardError(await command.catch((error: unknown) => error), ErrorCode.Aborted)).toBe(true);
      expect(await producer.queue.getWaitingCount()).toBe(0);
      expect(producer.pendingReplies).toBe(0);
      expect(producer.inFlight).toBe(0);
    } finally {
      await producer.close();
    }
  });

  it('works with an existing Queue and an existing ioredis instance, and leaves them open', async () => {
    const queueName = 'bring-your-own';
    const queue = new Queue(queueName, { connection: { url: REDIS_URL }, prefix });
    const workerRedis = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const router = new QueryRouter();
    router.route(Double).to((query) => query.payload.n * 2);
    const queryBus = new QueryBus();
    queryBus.use(router);
    const consumer = new BullMQConsumer({ queueName, prefix, connection: workerRedis, queryBus });
    const producer = new BullMQProducer({ queue });
    const sendRouter = new QueryRouter();
    sendRouter.route(Double).to(producer);
    const sender = new QueryBus();
    sender.use(sendRouter);
    try {
      await consumer.start();
      await expect(sender.dispatch(Double.create({ n: 21 }))).resolves.toBe(42);
      await producer.close();
      await consumer.close();
      expect(workerRedis.status).toBe('ready');
      expect(await queue.getJobCounts('completed')).toEqual({ completed: 0 }); // query jobs are removed
    } finally {
      await queue.close();
      workerRedis.disconnect();
    }
  });

  it('rejects produce() after close() with the typed error', async () => {
    const producer = new BullMQProducer({ queueName: 'closed', prefix, connection: REDIS_URL });
    await producer.close();
    const error = await producer.produce(Double.create({ n: 1 })).catch((reason: unknown) => reason);
    expect(isSwitchyardError(error, ErrorCode.ProducerClosed)).toBe(true);
  });
});
