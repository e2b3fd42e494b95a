import { describeTransportConformance } from '@switchyard/conformance';
import { afterAll } from 'vitest';
import { BullMQConsumer, BullMQProducer } from '../src/index.ts';
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis-test-kit.ts';

// The same contract with messages packed into jobs: what a caller sees must not change.
const prefix = uniquePrefix('conformance-packed');
afterAll(() => deleteKeys(prefix));

let run = 0;

describeTransportConformance({
  name: 'bullmq, messagesPerJob: 50',
  cancelsRemoteHandler: false,
  async create(settings) {
    const queueName = `packed-${++run}`;
    return {
      consumer: new BullMQConsumer({
        queueName,
        prefix,
        connection: REDIS_URL,
        concurrency: 200,
        ...settings.consumer,
      }),
      producer: new BullMQProducer({
        queueName,
        prefix,
        connection: REDIS_URL,
        messagesPerJob: 50,
        ...settings.producer,
      }),
    };
  },
});
