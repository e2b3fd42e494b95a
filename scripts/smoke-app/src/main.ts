// The packed-tarball smoke app (scripts/smoke-pack.sh): installed from the tarballs into a fresh
// directory outside the workspace, type-checked with the installed TypeScript, compiled and run with
// plain `node`, the way a user gets the packages. Exits non-zero on any failure.
import { strict as assert } from 'node:assert';
import { BullMQConsumer, BullMQProducer } from '@switchyard/bullmq';
import { describeTransportConformance } from '@switchyard/conformance';
import {
  CommandBus,
  CommandRouter,
  defineCommand,
  defineEvent,
  defineQuery,
  EventBus,
  EventRouter,
  InMemoryChannel,
  InMemoryConsumer,
  InMemoryProducer,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { HttpConsumer, HttpProducer } from '@switchyard/http';
import * as opentelemetry from '@switchyard/opentelemetry';
import * as postgres from '@switchyard/postgres';
import { ZeroMQConsumer, ZeroMQProducer } from '@switchyard/zeromq';

interface User {
  userId: string;
  email: string;
}
const RegisterUser = defineCommand<User>('RegisterUser');
const UserRegistered = defineEvent<{ userId: string }>('UserRegistered');
const GetUser = defineQuery<{ userId: string }, User | null>('GetUser');

// ---- in-memory round trip: command → event → query, each through the in-memory transport ------
const users = new Map<string, User>();
const welcomed: string[] = [];
const channel = new InMemoryChannel();
const producer = new InMemoryProducer({ channel });

const commandBus = new CommandBus();
const eventBus = new EventBus();
const queryBus = new QueryBus();

const commands = new CommandRouter();
commands
  .route(RegisterUser)
  .to(async (command) => {
    users.set(command.payload.userId, command.payload);
    await eventBus.dispatch(UserRegistered.create({ userId: command.payload.userId }));
  })
  .to(producer);
const events = new EventRouter();
events.route(UserRegistered).to((event) => {
  welcomed.push(event.payload.userId);
});
const queries = new QueryRouter();
queries
  .route(GetUser)
  .to((query) => users.get(query.payload.userId) ?? null)
  .to(producer);
commandBus.use(commands);
eventBus.use(events);
queryBus.use(queries);

const consumer = new InMemoryConsumer({ channel, commandBus, eventBus, queryBus });
await consumer.start();
try {
  await commandBus.dispatch(RegisterUser.create({ userId: 'u1', email: 'ada@example.com' }), {
    timeoutMs: 5_000,
  });
  const user: User | null = await queryBus.dispatch(GetUser.create({ userId: 'u1' }), { timeoutMs: 5_000 });
  assert.deepEqual(user, { userId: 'u1', email: 'ada@example.com' });
  assert.equal(await queryBus.dispatch(GetUser.create({ userId: 'nobody' }), { timeoutMs: 5_000 }), null);
  assert.deepEqual(welcomed, ['u1']);
} finally {
  await producer.close();
  await consumer.close();
}

// ---- every adapter constructs from its published entry (nothing connects in a constructor) ----
const adapters = [
  new HttpProducer({ url: 'http://127.0.0.1:9/switchyard' }),
  new HttpConsumer({ commandBus, queryBus, port: 0 }),
  new ZeroMQProducer({ commandEndpoint: 'tcp://127.0.0.1:9', queryEndpoint: 'tcp://127.0.0.1:10' }),
  new ZeroMQConsumer({ commandBus, queryBus, commandEndpoint: 'tcp://127.0.0.1:0' }),
  new BullMQProducer({ queueName: 'smoke', connection: { host: '127.0.0.1', port: 9 } }),
  new BullMQConsumer({ queueName: 'smoke', connection: { host: '127.0.0.1', port: 9 }, commandBus }),
  new postgres.PostgresProducer({ connection: 'postgres://127.0.0.1:9/smoke', queueName: 'smoke' }),
];
for (const adapter of adapters) await adapter.close();
assert.equal(typeof describeTransportConformance, 'function');
assert.equal(typeof opentelemetry.instrumentSwitchyard, 'function');

console.log(
  `smoke app: in-memory command + event + query round trip ok; ${adapters.length} adapters constructed and closed`,
);
