import { CommandBus, CommandRouter, defineCommand } from '@switchyard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { BullMQProducer } from '../src/index.ts';
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis-test-kit.ts';

const Ship = defineCommand<{ n: number }>('Ship');
const prefix = uniquePrefix('delivery');
afterAll(() => deleteKeys(prefix));

function sender(producer: BullMQProducer): CommandBus {
  const commands = new CommandRouter();
  commands.route(Ship).to(producer);
  const bus = new CommandBus();
  bus.use(commands);
  return bus;
}

describe('per-message delivery options over BullMQ', () => {
  it('delayMs makes a delayed job, priority a prioritized one, dedupeKey adds a duplicate once', async () => {
    const producer = new BullMQProducer({ queueName: 'delivery', prefix, connection: REDIS_URL });
    const bus = sender(producer);
    try {
      const delayed = Ship.create({ n: 1 });
      await bus.dispatch(delayed, { delayMs: 60_000 });
      const delayedJob = await producer.queue!.getJob(delayed.id);
      expect(await delayedJob?.getState()).toBe('delayed');
      expect(delayedJob?.opts.delay).toBe(60_000);

      const urgent = Ship.create({ n: 2 });
      await bus.dispatch(urgent, { priority: 1 });
      const urgentJob = await producer.queue!.getJob(urgent.id);
      expect(urgentJob?.opts.priority).toBe(1);
      expect(await urgentJob?.getState()).toBe('prioritized');

      const first = Ship.create({ n: 3 });
      const second = Ship.create({ n: 3 });
      await bus.dispatch(first, { dedupeKey: 'order-3' });
      await bus.dispatch(second, { dedupeKey: 'order-3' }); // resolves: accepted once
      expect(await producer.queue!.getJob(first.id)).toBeDefined();
      expect(await producer.queue!.getJob(second.id)).toBeUndefined();
      expect(await producer.queue!.getDeduplicationJobId('order-3')).toBe(first.id);
    } finally {
      await producer.close();
    }
  });
});
