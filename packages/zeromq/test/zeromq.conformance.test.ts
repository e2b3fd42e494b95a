import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTransportConformance, freePort } from '@switchyard/conformance';
import { ZeroMQConsumer, ZeroMQProducer } from '../src/index.ts';

describeTransportConformance({
  name: 'zeromq over tcp',
  async create({ consumer, producer }) {
    // Fixed ports: the producer is built before the consumer has bound (both start later).
    const commands = `tcp://127.0.0.1:${await freePort()}`;
    const queries = `tcp://127.0.0.1:${await freePort()}`;
    return {
      consumer: new ZeroMQConsumer({ commandEndpoint: commands, queryEndpoint: queries, ...consumer }),
      producer: new ZeroMQProducer({ commandEndpoint: commands, queryEndpoint: queries, ...producer }),
    };
  },
});

describeTransportConformance({
  name: 'zeromq over ipc',
  async create({ consumer, producer }) {
    const base = join(tmpdir(), `switchyard-zmq-${randomUUID()}`);
    const paths = [`${base}-commands.sock`, `${base}-queries.sock`] as const;
    const commands = `ipc://${paths[0]}`;
    const queries = `ipc://${paths[1]}`;
    return {
      consumer: new ZeroMQConsumer({ commandEndpoint: commands, queryEndpoint: queries, ...consumer }),
      producer: new ZeroMQProducer({ commandEndpoint: commands, queryEndpoint: queries, ...producer }),
      async cleanup() {
        for (const path of paths) rmSync(path, { force: true });
      },
    };
  },
});
