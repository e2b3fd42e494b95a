import { describeTransportConformance } from '@switchyard/conformance';
import { afterAll } from 'vitest';
import { BullMQConsumer, BullMQProducer } from '../src/index.ts';
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis-test-kit.ts';

const prefix = uniquePrefix('conformance');
afterAll(() => deleteKeys(prefix));

let run = 0;

describeTransportConformance({
  name: 'bullmq',
  async create(receiver) {
    const queueName = `conformance-${++run}`;
    const consumer = new BullMQConsumer({
      queueName,
      prefix,
      connection: REDIS_URL,
      concurrency: 200,
      ...receiver,
    });
    await consumer.waitUntilReady();
    const producer = new BullMQProducer({ queueName, prefix, connection: REDIS_URL });
    return { producer, close: () => consumer.close() };
  },
});
