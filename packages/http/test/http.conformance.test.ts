import { describeTransportConformance } from '@switchyard/conformance';
import { HttpConsumer, HttpProducer } from '../src/index.ts';

describeTransportConformance({
  name: 'http',
  async create(receiver) {
    // The suite round-trips a 1 MiB payload: the envelope around it is a little larger.
    const consumer = new HttpConsumer({ ...receiver, bodyLimitBytes: 4 * 1024 * 1024 });
    const { url } = await consumer.listen();
    return { producer: new HttpProducer({ url }), close: () => consumer.close() };
  },
});
