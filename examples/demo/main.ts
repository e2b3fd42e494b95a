/**
 * `pnpm demo` — one configuration, four transports, two "processes" (a web app and a users
 * service) in one Node process so the demo needs nothing but this repository:
 *
 *   RegisterUser    command  → "durable": BullMQ (in-memory when no Redis answers)
 *   UserRegistered  event    → "events":  the transactional outbox (PostgreSQL; PGlite when none
 *                              answers), committed with the user row, relayed after the commit
 *   GetUser         query    → "http":    undici → node:http, reply in the response
 *   CountUsers      query    → "zeromq":  Dealer → Router
 *   SendWelcomeMail command  → local to the users service
 *
 * `SWITCHYARD_ROUTES='{"GetUser":"zeromq"}' pnpm demo` moves GetUser to ZeroMQ: same code. The
 * demo ends with the trace of the first registration, as OpenTelemetry recorded it.
 */
import { randomUUID } from 'node:crypto';
import { createServer, Socket } from 'node:net';
import { createSwitchyard, type Switchyard } from '@switchyard/core';
import { migrate, OutboxRelay, PostgresOutbox } from '@switchyard/postgres';
import { openDatabase } from '../outbox/database.ts';
import { createHandlers, type UserStore } from './handlers.ts';
import { CountUsers, GetUser, RegisterUser } from './messages.ts';
import { definitions, routes as routesFor, transports } from './routes.ts';
import { stopTracing, tracedRequest, traceTree } from './tracing.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const log = (line: string) => console.log(line);

const withRedis = await answers(REDIS_URL);
if (!withRedis) {
  log(`No Redis answers at ${REDIS_URL}: "durable" is the in-memory transport instead.`);
  log(
    'For the durable BullMQ route, start one with `docker compose up -d redis` and run `pnpm demo` again.\n',
  );
}
const redis = withRedis
  ? { url: REDIS_URL, prefix: `switchyard-demo-${randomUUID().slice(0, 8)}` }
  : undefined;

// The users service's database: its users table and the outbox, in a schema of the demo's own.
const database = await openDatabase(DATABASE_URL);
log(database.line);
const schema = `switchyard_demo_${randomUUID().slice(0, 8)}`;
let store: UserStore | undefined;
if (database.pool !== undefined) {
  await migrate(database.pool, { schema });
  await database.pool.query(`CREATE TABLE "${schema}".users (id text PRIMARY KEY, email text NOT NULL)`);
  store = { outbox: new PostgresOutbox({ pool: database.pool, schema }), table: `"${schema}".users` };
}
const routes = routesFor(store !== undefined);
const endpoints = {
  redis,
  httpPort: await freePort(),
  zeromqPorts: [await freePort(), await freePort()],
} as const;
const { all: shared, relayed } = transports(endpoints, store?.outbox);
const relay =
  database.pool === undefined
    ? undefined
    : new OutboxRelay({
        connection: database.pool,
        schema,
        targets: { events: relayed.createProducer() },
        ...(database.embedded ? { listen: false, pollIntervalMs: 20 } : {}), // PGlite: one session
      });

// ---- the wiring: the users service handles, the web app only sends --------------------------
let service: Switchyard | undefined;
const handlers = createHandlers(log, () => service!, store);
service = createSwitchyard({ definitions, routes, transports: shared, handlers: handlers.bindings });
const web = createSwitchyard({ definitions, routes, transports: shared, validate: 'both' });
log(`users-service serves ${service.serves.join(', ')}; web sends over ${web.sendsOver.join(', ')}\n`);

let exitCode = 0;
try {
  await service.start();
  await relay?.start();
  log(`web  → RegisterUser ×2 over "${routes.RegisterUser}" (${withRedis ? 'BullMQ' : 'in-memory'})`);
  const { traceId } = await tracedRequest('POST /users', () =>
    web.commandBus.dispatch(RegisterUser.create({ userId: 'u1', email: 'ada@example.com' })),
  );
  await web.commandBus.dispatch(RegisterUser.create({ userId: 'u2', email: 'grace@example.com' }));
  await waitUntil(() => handlers.users.size === 2 && handlers.mailsSent() === 2, 'both registrations');

  log(`web  → GetUser over "${routes.GetUser}"`);
  const ada = await web.queryBus.dispatch(GetUser.create({ userId: 'u1' }), { timeoutMs: 5_000 });
  log(`web  ← ${JSON.stringify(ada)}`);
  log(`web  → CountUsers over "${routes.CountUsers}"`);
  const count = await web.queryBus.dispatch(CountUsers.create({}), { timeoutMs: 5_000 });
  log(`web  ← ${count} users`);
  const missing = await web.queryBus.dispatch(GetUser.create({ userId: 'nobody' }), { timeoutMs: 5_000 });
  log(`web  ← GetUser(nobody) = ${JSON.stringify(missing)}`);
  log(
    `\nProducers built — web: ${web.builtProducers().sort().join(', ')}; users-service: ${service.builtProducers().join(', ') || 'none'}`,
  );
  log('\nThe trace of the first registration (OpenTelemetry, one trace id across every hop):');
  log(traceTree(traceId));
  log('\nDone: one configuration, each message type on its own transport.');
} catch (error) {
  exitCode = 1;
  console.error('demo failed:', error);
} finally {
  await web.close();
  await relay?.close();
  await service.close();
  if (redis) await removeQueue(redis);
  if (database.pool !== undefined) await database.pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  await database.close();
  await stopTracing();
}
process.exitCode = exitCode;

/** True when something answers a TCP connect to the URL within 500 ms. */
function answers(url: string): Promise<boolean> {
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

/** A TCP port free on loopback right now. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Leaves nothing behind in the user's Redis. */
async function removeQueue({ url, prefix }: { url: string; prefix: string }): Promise<void> {
  const { Queue } = await import('bullmq');
  const queue = new Queue('users', { prefix, connection: { url } });
  await queue.obliterate({ force: true });
  await queue.close();
}
