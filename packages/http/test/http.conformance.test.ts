import { describeTransportConformance, freePort } from '@switchyard/conformance';
import { HttpConsumer, HttpProducer } from '../src/index.ts';

describeTransportConformance({
  name: 'http',
  async create({ consumer, producer, oneAtATime }) {
    const port = await freePort();
    // The suite round-trips a 1 MiB payload: the envelope around it is a little larger.
    const maxMessageBytes = 4 * 1024 * 1024;
    return {
      consumer: new HttpConsumer({ ...consumer, port, maxMessageBytes }),
      producer: new HttpProducer({
        ...producer,
        maxMessageBytes,
        url: `http://127.0.0.1:${port}/`,
        ...(oneAtATime ? { connections: 1 } : {}),
      }),
    };
  },
});
