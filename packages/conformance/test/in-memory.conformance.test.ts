import { InMemoryChannel, InMemoryConsumer, InMemoryProducer } from '@switchyard/core';
import { describeTransportConformance } from '../src/index.ts';

describeTransportConformance({
  name: 'in-memory',
  async create(receiver) {
    const channel = new InMemoryChannel();
    const consumer = new InMemoryConsumer({ channel, ...receiver });
    await consumer.start();
    return { producer: new InMemoryProducer({ channel }), close: () => consumer.close() };
  },
});
