/**
 * `pnpm demo` — one routing table, four transports, two "processes" (a web app and a users
 * service) in one Node process so the demo needs nothing but this repository:
 *
 *   RegisterUser    command  → BullMQ (durable; in-memory when no Redis answers)
 *   GetUser         query    → HTTP   (undici → node:http, reply in the response)
 *   CountUsers      query    → ZeroMQ (Dealer → Router, correlation frame)
 *   UserRegistered  event    → in-memory
 *   SendWelcomeMail command  → in-memory
 */
import { randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { BullMQConsumer, BullMQProducer } from '@switchyard/bullmq';
import { InMemoryChannel, InMemoryConsumer, InMemoryProducer, type MessageProducer } from '@switchyard/core';
import { HttpConsumer, HttpProducer } from '@switchyard/http';
import { ZeroMQConsumer, ZeroMQProducer } from '@switchyard/zeromq';
import { createHandlers } from './handlers.ts';
import { CountUsers, GetUser, RegisterUser } from './messages.ts';
import { createBuses, type Transports } from './routes.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const log = (line: string) => console.log(line);

/** True when something answers a TCP connect to the Redis URL within 500 ms. */
function redisAnswers(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(port || 6379), hostname, () => done(true));
  });
}

const withRedis = await redisAnswers(REDIS_URL);
if (!withRedis) {
  log(`No Redis answers at ${REDIS_URL}: RegisterUser goes over the in-memory transport instead.`);
  log(
    'For the durable BullMQ route, start one with `docker compose up -d redis` and run `pnpm demo` again.\n',
  );
}

// ---- the users service: handlers, its buses, and one consumer per transport -------------------
let serviceBuses: ReturnType<typeof createBuses> | undefined;
const handlers = createHandlers(log, () => serviceBuses!);
const channel = new InMemoryChannel();
const prefix = `switchyard-demo-${randomUUID().slice(0, 8)}`;
const queueName = 'users';

// The service's own outgoing messages (the event it publishes, the mail command) use these producers.
const serviceTransports: Transports = {
  durable: new InMemoryProducer({ channel }),
  http: new InMemoryProducer({ channel }),
  zeromq: new InMemoryProducer({ channel }),
  inMemory: new InMemoryProducer({ channel }),
};
serviceBuses = createBuses(serviceTransports, handlers);

const inMemoryConsumer = new InMemoryConsumer({
  channel,
  ...serviceBuses,
  onError: (e) => log(`in-memory: ${e}`),
});
await inMemoryConsumer.start();
const httpConsumer = new HttpConsumer({ ...serviceBuses, port: 0, host: '127.0.0.1' });
const { url: httpUrl } = await httpConsumer.start();
const zeromqConsumer = new ZeroMQConsumer({
  ...serviceBuses,
  commandEndpoint: 'tcp://127.0.0.1:0',
  queryEndpoint: 'tcp://127.0.0.1:0',
});
const zeromqEndpoints = await zeromqConsumer.start();
const bullmqConsumer = withRedis
  ? new BullMQConsumer({ ...serviceBuses, queueName, prefix, connection: REDIS_URL, concurrency: 8 })
  : undefined;
await bullmqConsumer?.start();

// ---- the web app: the same routing module, with real producers --------------------------------
const webTransports: Transports = {
  durable: withRedis
    ? new BullMQProducer({ queueName, prefix, connection: REDIS_URL })
    : new InMemoryProducer({ channel }),
  http: new HttpProducer({ url: httpUrl }),
  zeromq: new ZeroMQProducer({
    commandEndpoint: zeromqEndpoints.commands[0]!,
    queryEndpoint: zeromqEndpoints.queries[0]!,
  }),
  inMemory: new InMemoryProducer({ channel }),
};
const web = createBuses(webTransports, handlers);

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

let exitCode = 0;
try {
  log(`web  → RegisterUser ×2 over ${withRedis ? 'BullMQ' : 'in-memory'}`);
  await web.commandBus.dispatch(RegisterUser.create({ userId: 'u1', email: 'ada@example.com' }));
  await web.commandBus.dispatch(RegisterUser.create({ userId: 'u2', email: 'grace@example.com' }));
  await waitUntil(() => handlers.users.size === 2 && handlers.mailsSent() === 2, 'both registrations');

  log('web  → GetUser over HTTP');
  const ada = await web.queryBus.dispatch(GetUser.create({ userId: 'u1' }), { timeoutMs: 5_000 });
  log(`web  ← ${JSON.stringify(ada)}`);

  log('web  → CountUsers over ZeroMQ');
  const count = await web.queryBus.dispatch(CountUsers.create({}), { timeoutMs: 5_000 });
  log(`web  ← ${count} users`);

  const missing = await web.queryBus.dispatch(GetUser.create({ userId: 'nobody' }), { timeoutMs: 5_000 });
  log(`web  ← GetUser(nobody) = ${JSON.stringify(missing)}`);
  log('\nDone: one routing table, each message type on its own transport.');
} catch (error) {
  exitCode = 1;
  console.error('demo failed:', error);
} finally {
  for (const producer of [
    ...Object.values(webTransports),
    ...Object.values(serviceTransports),
  ] as MessageProducer[]) {
    await producer.close();
  }
  await Promise.all([
    inMemoryConsumer.close(),
    httpConsumer.close(),
    zeromqConsumer.close(),
    bullmqConsumer?.close(),
  ]);
  if (withRedis) {
    // Leave nothing behind in the user's Redis.
    const { Queue } = await import('bullmq');
    const queue = new Queue(queueName, { prefix, connection: { url: REDIS_URL } });
    await queue.obliterate({ force: true });
    await queue.close();
  }
}
process.exitCode = exitCode;
