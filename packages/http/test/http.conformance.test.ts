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

// The same contract with asynchronous requests on both sides: every message is answered 202 +
// Location at once and its outcome polled from the status resource.
describeTransportConformance({
  name: 'http (async: 202 + status)',
  async create({ consumer, producer, oneAtATime }) {
    const port = await freePort();
    const maxMessageBytes = 4 * 1024 * 1024;
    return {
      consumer: new HttpConsumer({ ...consumer, port, maxMessageBytes, async: true }),
      producer: new HttpProducer({
        ...producer,
        maxMessageBytes,
        url: `http://127.0.0.1:${port}/`,
        async: { pollIntervalMs: 20, maxPollIntervalMs: 200 },
        ...(oneAtATime ? { connections: 1 } : {}),
      }),
    };
  },
});
