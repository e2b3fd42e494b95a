import { CommandBus, EventBus, QueryBus } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { ZeroMQConsumer, zeromqTransport } from '../src/index.ts';

describe('zeromqTransport', () => {
  it('declares what its producer can do: replies only with a queryEndpoint', async () => {
    for (const producerOptions of [
      { commandEndpoint: 'tcp://127.0.0.1:5999', queryEndpoint: 'tcp://127.0.0.1:5998' },
      { commandEndpoint: 'tcp://127.0.0.1:5999' },
    ]) {
      const transport = zeromqTransport({ producer: producerOptions });
      const producer = transport.createProducer();
      expect(producer.capabilities).toEqual(transport.capabilities);
      await producer.close();
    }
    const oneWay = zeromqTransport({ producer: { commandEndpoint: 'tcp://127.0.0.1:5999' } });
    expect(oneWay.capabilities.replies).toBe(false);
    const wiring = { commandBus: new CommandBus(), eventBus: new EventBus(), queryBus: new QueryBus() };
    const served = zeromqTransport({ consumer: { commandEndpoint: 'tcp://127.0.0.1:0' } });
    expect(served.createConsumer(wiring)).toBeInstanceOf(ZeroMQConsumer);
    expect(() => served.createProducer()).toThrowError(/producer/);
  });
});
