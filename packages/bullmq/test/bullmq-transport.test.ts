import { CommandBus, EventBus, QueryBus } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { BullMQConsumer, bullmqTransport } from '../src/index.ts';
import { REDIS_URL, uniquePrefix } from './redis-test-kit.ts';

describe('bullmqTransport', () => {
  it('builds either side from the queue and connection alone, declaring what its producer can do', async () => {
    const transport = bullmqTransport({
      queueName: 'q',
      prefix: uniquePrefix('transport'),
      connection: REDIS_URL,
    });
    const producer = transport.createProducer();
    expect(producer.capabilities).toEqual(transport.capabilities);
    await producer.close();
    const wiring = { commandBus: new CommandBus(), eventBus: new EventBus(), queryBus: new QueryBus() };
    const consumer = transport.createConsumer(wiring);
    expect(consumer).toBeInstanceOf(BullMQConsumer);
    await consumer.close();
  });
});
