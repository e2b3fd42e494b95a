import { describeTransportConformance } from '@switchyard/conformance';
import { afterAll, beforeAll } from 'vitest';
import { PostgresConsumer, PostgresProducer } from '../src/index.ts';
import { dropSchema, migratedSchema, PG_URL, testPool } from './pg-test-kit.ts';

const pool = testPool(2);
let schema = '';
beforeAll(async () => {
  schema = await migratedSchema(pool, 'conformance');
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

let run = 0;

describeTransportConformance({
  name: 'postgres',
  async create(settings) {
    const queueName = `conformance-${++run}`;
    return {
      // 200 messages at once unless the test needs one at a time (then settings.consumer says 1).
      consumer: new PostgresConsumer({
        connection: PG_URL,
        schema,
        queueName,
        concurrency: 200,
        ...settings.consumer,
      }),
      producer: new PostgresProducer({ connection: PG_URL, schema, queueName, ...settings.producer }),
    };
  },
});
