import { fileURLToPath } from 'node:url';
import { type StartedProcess, startProcess } from '@switchyard/conformance';
import { defineEvent, EventBus, EventRouter } from '@switchyard/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TopicPublisher, TopicSubscriber } from '../src/index.ts';
import { deleteKeys, REDIS_URL, sleep, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Tick = defineEvent<{ n: number }>('Tick');
const prefix = uniquePrefix('topic-groups');
const redis = new Redis(REDIS_URL);
const children: StartedProcess[] = [];
const script = fileURLToPath(new URL('./fixtures/topic-worker.ts', import.meta.url));

afterAll(async () => {
  for (const started of children) if (started.child.exitCode === null) started.child.kill('SIGKILL');
  await deleteKeys(prefix);
  redis.disconnect();
});

async function worker(topic: string, group: string, name: string, delayMs = 0): Promise<StartedProcess> {
  const started = await startProcess(script, {
    env: { REDIS_URL, PREFIX: prefix, TOPIC: topic, GROUP: group, WORKER: name, DELAY_MS: String(delayMs) },
  });
  children.push(started);
  return started;
}

async function publish(topic: string, count: number): Promise<void> {
  const publisher = new TopicPublisher({ topic, prefix, connection: REDIS_URL });
  try {
    await Promise.all(Array.from({ length: count }, (_, n) => publisher.produce(Tick.create({ n }))));
  } finally {
    await publisher.close();
  }
}

const handled = (group: string) => redis.hgetall(`${prefix}:handled:${group}`);

describe('a BullMQ topic with subscriber groups in separate processes', () => {
  it('three groups (two with two competing workers each) each get every one of 2,000 events exactly once', {
    timeout: 120_000,
  }, async () => {
    const topic = 'orders';
    // The publisher below knows none of these: they subscribe on their own.
    await Promise.all([
      worker(topic, 'billing', 'billing-1'),
      worker(topic, 'billing', 'billing-2'),
      worker(topic, 'shipping', 'shipping-1'),
      worker(topic, 'shipping', 'shipping-2'),
      worker(topic, 'audit', 'audit-1'),
    ]);
    await publish(topic, 2_000);

    for (const group of ['billing', 'shipping', 'audit']) {
      await waitFor(
        async () => (await redis.hlen(`${prefix}:handled:${group}`)) >= 2_000,
        60_000,
        `${group} to get 2,000`,
      );
    }
    await sleep(500); // nothing more arrives
    for (const group of ['billing', 'shipping', 'audit']) {
      const counts = await handled(group);
      expect(Object.keys(counts).length, group).toBe(2_000);
      expect(
        Object.values(counts).every((count) => count === '1'),
        `${group}: each event once`,
      ).toBe(true);
    }
    for (const group of ['billing', 'shipping']) {
      const perWorker = await redis.hgetall(`${prefix}:workers:${group}`);
      expect(Object.keys(perWorker).sort(), `both ${group} workers took part`).toEqual([
        `${group}-1`,
        `${group}-2`,
      ]);
      expect(Object.values(perWorker).reduce((sum, count) => sum + Number(count), 0)).toBe(2_000);
    }
  });

  it('a group whose worker is SIGKILLed mid-stream loses nothing: another worker of the group takes over', {
    timeout: 120_000,
  }, async () => {
    const topic = 'payments';
    const doomed = await worker(topic, 'ledger', 'doomed', 5);
    await publish(topic, 2_000);
    await waitFor(
      async () => (await redis.hlen(`${prefix}:handled:ledger`)) >= 200,
      30_000,
      'the worker to be mid-stream',
    );
    doomed.child.kill('SIGKILL');
    await doomed.exited();
    expect(await redis.hlen(`${prefix}:handled:ledger`)).toBeLessThan(2_000);

    const router = new EventRouter();
    router.route(Tick).to(async (event) => {
      await redis.hincrby(`${prefix}:handled:ledger`, String(event.payload.n), 1);
    });
    const eventBus = new EventBus();
    eventBus.use(router);
    const survivor = new TopicSubscriber({
      topic,
      group: 'ledger',
      prefix,
      connection: REDIS_URL,
      events: [Tick.name],
      concurrency: 32,
      visibilityTimeoutMs: 1_000,
      eventBus,
    });
    await survivor.start();
    try {
      await waitFor(
        async () => (await redis.hlen(`${prefix}:handled:ledger`)) >= 2_000,
        60_000,
        'all 2,000 events',
      );
      const counts = Object.values(await handled('ledger')).map(Number);
      expect(counts.length).toBe(2_000);
      // At least once: what the killed worker held when it died may be handled twice, no more.
      const twice = counts.filter((count) => count > 1).length;
      expect(Math.max(...counts)).toBeLessThanOrEqual(2);
      expect(twice).toBeLessThanOrEqual(16);
      // Nothing stays pending with the dead worker once it was taken over.
      await waitFor(
        async () => {
          const [pending] = (await redis.xpending(`${prefix}:topic:${topic}`, 'ledger')) as [number];
          return pending === 0;
        },
        10_000,
        'the group to have nothing pending',
      );
    } finally {
      await survivor.close();
    }
  });
});
