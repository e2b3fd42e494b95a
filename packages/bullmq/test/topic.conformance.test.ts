import { describePubSubConformance } from '@switchyard/conformance';
import { afterAll } from 'vitest';
import { TopicPublisher, TopicSubscriber } from '../src/index.ts';
import { deleteKeys, REDIS_URL, uniquePrefix } from './redis-test-kit.ts';

const prefix = uniquePrefix('topic-conformance');
afterAll(() => deleteKeys(prefix));

describePubSubConformance({
  name: 'bullmq topic',
  durable: true,
  competing: true,
  async createPublisher(topic, settings) {
    return new TopicPublisher({ topic, prefix, connection: REDIS_URL, ...settings });
  },
  async createSubscriber(topic, settings) {
    return new TopicSubscriber({ topic, prefix, connection: REDIS_URL, concurrency: 50, ...settings });
  },
});
