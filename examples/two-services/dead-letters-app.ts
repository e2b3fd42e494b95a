// dead-letters-app.ts — the app the dead-letters test serves and the `switchyard` CLI loads: users
// over HTTP, imports over ZeroMQ, archiving over BullMQ (which keeps its own dead letters), and a
// BullMQ queue as the dead-letter sink of the other two. Ports and prefix come from the environment.
import { bullmqTransport } from '@switchyard/bullmq';
import { createSwitchyard, defineCommand, type HandlerBinding } from '@switchyard/core';
import { httpTransport } from '@switchyard/http';
import { zeromqTransport } from '@switchyard/zeromq';

export const RegisterUser = defineCommand<{ userId: string }>('RegisterUser');
export const ImportUser = defineCommand<{ userId: string }>('ImportUser');
export const ArchiveUser = defineCommand<{ userId: string }>('ArchiveUser');

export function createApp(handlers: readonly HandlerBinding[] = []) {
  const env = process.env;
  const redis = env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const zmq = `tcp://127.0.0.1:${env.ZMQ_PORT}`;
  return createSwitchyard({
    definitions: [RegisterUser, ImportUser, ArchiveUser],
    transports: {
      users: httpTransport({
        producer: { url: `http://127.0.0.1:${env.HTTP_PORT}/`, retry: false },
        consumer: { port: Number(env.HTTP_PORT) },
      }),
      imports: zeromqTransport({ producer: { commandEndpoint: zmq }, consumer: { commandEndpoint: zmq } }),
      archive: bullmqTransport({
        queueName: 'archive',
        prefix: env.QUEUE_PREFIX,
        connection: redis,
        producer: { attempts: 1 },
      }),
      dlq: bullmqTransport({ queueName: 'dead-letters', prefix: env.QUEUE_PREFIX, connection: redis }),
    },
    routes: { RegisterUser: 'users', ImportUser: 'imports', ArchiveUser: 'archive' },
    deadLetters: 'dlq',
    handlers,
    onError: () => {}, // the test reads the dead letters instead
  });
}

// What the CLI loads: the app without handlers, not started.
export default () => createApp();
