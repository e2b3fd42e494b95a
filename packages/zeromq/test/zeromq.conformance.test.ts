import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTransportConformance } from '@switchyard/conformance';
import { ZeroMQConsumer, ZeroMQProducer } from '../src/index.ts';

describeTransportConformance({
  name: 'zeromq over tcp',
  async create(receiver) {
    const consumer = new ZeroMQConsumer({
      commandEndpoint: 'tcp://127.0.0.1:0',
      queryEndpoint: 'tcp://127.0.0.1:0',
      ...receiver,
    });
    const bound = await consumer.start();
    const producer = new ZeroMQProducer({ commandEndpoint: bound.commands, queryEndpoint: bound.queries });
    return { producer, close: () => consumer.close() };
  },
});

describeTransportConformance({
  name: 'zeromq over ipc',
  async create(receiver) {
    const base = join(tmpdir(), `switchyard-zmq-${randomUUID()}`);
    const paths = [`${base}-commands.sock`, `${base}-queries.sock`];
    const consumer = new ZeroMQConsumer({
      commandEndpoint: `ipc://${paths[0]}`,
      queryEndpoint: `ipc://${paths[1]}`,
      ...receiver,
    });
    const bound = await consumer.start();
    const producer = new ZeroMQProducer({ commandEndpoint: bound.commands, queryEndpoint: bound.queries });
    return {
      producer,
      async close() {
        await consumer.close();
        for (const path of paths) rmSync(path, { force: true });
      },
    };
  },
});
