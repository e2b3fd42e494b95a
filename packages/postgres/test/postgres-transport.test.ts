import { createSwitchyard, defineCommand, defineQuery, handle } from '@switchyard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { postgresTransport } from '../src/index.ts';
import { dropSchema, migratedSchema, testPool } from './pg-test-kit.ts';

const pool = testPool();
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(pool, schema);
  await pool.end();
});

const Remember = defineCommand<{ word: string }>('Remember');
const Recall = defineQuery<Record<string, never>, string[]>('Recall');

describe('postgresTransport', () => {
  it('carries commands and queries between two createSwitchyard processes; each builds only its side', async () => {
    const schema = await migratedSchema(pool, 'transport');
    schemas.push(schema);
    const transports = { db: postgresTransport({ connection: pool, schema, queueName: 'words' }) };
    expect(transports.db.capabilities).toEqual({
      replies: true,
      confirmsHandling: false,
      durable: true,
      delivery: ['delayMs', 'dedupeKey'],
    });
    const routes = { Remember: 'db', Recall: 'db' };
    const words: string[] = [];
    const service = createSwitchyard({
      definitions: [Remember, Recall],
      transports,
      routes,
      handlers: [
        handle(Remember, (command) => void words.push(command.payload.word)),
        handle(Recall, () => [...words]),
      ],
    });
    const web = createSwitchyard({ definitions: [Remember, Recall], transports, routes });
    try {
      await service.start();
      await web.commandBus.dispatch(Remember.create({ word: 'switchyard' }));
      let recalled: string[] = [];
      for (let tries = 0; recalled.length === 0 && tries < 100; tries++) {
        recalled = await web.queryBus.dispatch(Recall.create({}), { timeoutMs: 5_000 });
        if (recalled.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(recalled).toEqual(['switchyard']);
      expect(web.builtProducers()).toEqual(['db']);
      expect(service.builtProducers()).toEqual([]);
    } finally {
      await web.close();
      await service.close();
    }
  });
});
