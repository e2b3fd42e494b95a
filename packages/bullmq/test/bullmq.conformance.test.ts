import { describeTransportConformance } from '@switchyard/conformance';
import { afterAll } from 'vitest';
import { BullMQConsumer, BullMQProducer } from '../src/index.ts';
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis-test-kit.ts';

const prefix = uniquePrefix('conformance');
afterAll(() => deleteKeys(prefix));

let run = 0;

// One job per message, and messages packed into shared jobs: what a caller sees must not differ.
for (const messagesPerJob of [1, 50]) {
  describeTransportConformance({
    name: messagesPerJob === 1 ? 'bullmq' : `bullmq, messagesPerJob: ${messagesPerJob}`,
    // An abort reaches a running handler's signal at the deadline, not at once (see the README).
    cancelsRemoteHandler: false,
    async create(settings) {
      const queueName = `conformance-${++run}`;
      return {
        // 200 jobs at once unless the test needs one at a time (then settings.consumer says 1).
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
          messagesPerJob,
          ...settings.producer,
        }),
      };
    },
  });
}
