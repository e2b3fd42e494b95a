import { describePubSubConformance } from '@switchyard/conformance';
import { afterAll, beforeAll } from 'vitest';
import { PostgresTopicPublisher, PostgresTopicSubscriber, unsubscribeTopicGroup } from '../src/index.ts';
import { dropSchema, migratedSchema, PG_URL, testPool } from './pg-test-kit.ts';

const pool = testPool(2);
let schema = '';
beforeAll(async () => {
  schema = await migratedSchema(pool, 'topic_conformance');
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

const groups = new Map<string, Set<string>>();

describePubSubConformance({
  name: 'postgres topic',
  durable: true,
  competing: true,
  async createPublisher(topic, settings) {
    return new PostgresTopicPublisher({ connection: PG_URL, schema, topic, ...settings });
  },
  async createSubscriber(topic, settings) {
    const known = groups.get(topic) ?? new Set<string>();
    known.add(settings.group);
    groups.set(topic, known);
    return new PostgresTopicSubscriber({ connection: PG_URL, schema, topic, ...settings });
  },
  async cleanup(topic) {
    for (const group of groups.get(topic) ?? []) await unsubscribeTopicGroup(pool, { schema, topic, group });
    groups.delete(topic);
  },
});
