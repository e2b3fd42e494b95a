import { defineEvent, EventBus, EventRouter } from '@switchyard/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TopicPublisher, TopicSubscriber } from '../src/index.ts';
import { deleteKeys, REDIS_URL, sleep, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Tick = defineEvent<{ n: number }>('TrimTick');
const prefix = uniquePrefix('topic-trim');
const redis = new Redis(REDIS_URL);

afterAll(async () => {
  await deleteKeys(prefix);
  redis.disconnect();
});

function subscriber(group: string, got: number[]): TopicSubscriber {
  const router = new EventRouter();
  router.route(Tick).to((event) => void got.push(event.payload.n));
  const eventBus = new EventBus();
  eventBus.use(router);
  return new TopicSubscriber({
    topic: 'ticks',
    group,
    events: [Tick.name],
    prefix,
    connection: REDIS_URL,
    concurrency: 50,
    trimIntervalMs: 100,
    eventBus,
  });
}

describe('trimming a BullMQ topic', () => {
  it('keeps every event a group has not handled, and trims what all groups handled', {
    timeout: 30_000,
  }, async () => {
    const stream = `${prefix}:topic:ticks`;
    const fast: number[] = [];
    const slow: number[] = [];
    const running = subscriber('fast', fast);
    const stopped = subscriber('slow', slow);
    await running.start();
    await stopped.start(); // the slow group exists from now …
    await stopped.close(); // … and is down while events are published
    const publisher = new TopicPublisher({ topic: 'ticks', prefix, connection: REDIS_URL });
    await Promise.all(Array.from({ length: 500 }, (_, n) => publisher.produce(Tick.create({ n }))));
    await publisher.close();
    await waitFor(() => fast.length === 500, 10_000, 'the fast group');
    await sleep(500); // several trim rounds of the running subscriber
    expect(await redis.xlen(stream)).toBe(500); // nothing the slow group has not read is gone

    const back = subscriber('slow', slow);
    await back.start();
    try {
      await waitFor(() => slow.length === 500, 10_000, 'the slow group');
      expect(new Set(slow).size).toBe(500);
      // Both groups handled everything: the next trim drops it all.
      await waitFor(async () => (await redis.xlen(stream)) === 0, 10_000, 'the stream to be trimmed');
    } finally {
      await back.close();
      await running.close();
    }
  });
});
