import { InMemoryChannel, InMemoryConsumer, InMemoryProducer } from '@switchyard/core';
import { describeTransportConformance } from '../src/index.ts';

describeTransportConformance({
  name: 'in-memory',
  async create({ consumer, producer }) {
    const channel = new InMemoryChannel();
    return {
      consumer: new InMemoryConsumer({ channel, ...consumer }),
      producer: new InMemoryProducer({ channel, ...producer }),
    };
  },
});
