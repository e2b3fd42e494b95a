/**
 * The transactional outbox, end to end: a users service registers users; each registration writes
 * the user row and dispatches `UserRegistered` in one transaction. The event goes through the
 * outbox: committed with the row, or rolled back with it; the relay then forwards committed events
 * to the mail service (over the in-memory transport here; BullMQ, HTTP, ZeroMQ or the Postgres
 * queue in production — only the producer given to the relay changes).
 *
 * The database is PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test); when
 * none answers, PGlite, an embedded PostgreSQL; when PGlite cannot load either, no outbox at all
 * (events dispatched straight to the in-memory transport). The first line says which.
 *
 *   node --conditions=switchyard-source examples/outbox/main.ts     (or: pnpm --filter @switchyard/example-outbox start)
 */
import { randomUUID } from 'node:crypto';
import {
  defineEvent,
  EventBus,
  EventRouter,
  InMemoryChannel,
  InMemoryConsumer,
  InMemoryProducer,
  type MessageProducer,
} from '@switchyard/core';
import { migrate, OutboxDeadLetters, OutboxRelay, PostgresOutbox } from '@switchyard/postgres';
import type pg from 'pg';
import { openDatabase } from './database.ts';

const UserRegistered = defineEvent<{ userId: string; email: string }>('UserRegistered');
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `outbox_example_${randomUUID().slice(0, 8)}`; // dropped at the end
const log = (line: string) => console.log(line);

// ---- the mail service: consumes UserRegistered from the transport ---------------------------
const channel = new InMemoryChannel();
const mailed: string[] = [];
const mailRoutes = new EventRouter();
mailRoutes.route(UserRegistered).to((event) => {
  mailed.push(event.payload.email);
  log(`mail  ← UserRegistered ${event.payload.email}: welcome mail sent`);
});
const mailBus = new EventBus();
mailBus.use(mailRoutes);
const mailConsumer = new InMemoryConsumer({ channel, eventBus: mailBus });
const toMail: MessageProducer = new InMemoryProducer({ channel });

const database = await openDatabase(DATABASE_URL);
log(database.line);

await mailConsumer.start();
try {
  if (database.pool === undefined) await withoutOutbox();
  else await withOutbox(database.pool, database.embedded);
} finally {
  await mailConsumer.close();
  await toMail.close();
  await database.close();
}

async function withOutbox(pool: pg.Pool, embedded: boolean): Promise<void> {
  await migrate(pool, { schema });
  await pool.query(`CREATE TABLE "${schema}".users (id text PRIMARY KEY, email text UNIQUE NOT NULL)`);
  const outbox = new PostgresOutbox({ pool, schema, targets: { mail: toMail } });
  const routes = new EventRouter();
  routes.route(UserRegistered).to(outbox.to(toMail)); // the one change: was .to(toMail)
  const eventBus = new EventBus();
  eventBus.use(routes);
  const relay = new OutboxRelay({
    connection: pool,
    schema,
    targets: { mail: toMail },
    // PGlite is a single session: the relay polls instead of holding a LISTEN connection.
    ...(embedded ? { listen: false, pollIntervalMs: 20 } : {}),
  });

  // The handler: a row and an event. Nothing in it knows about the outbox.
  async function registerUser(client: pg.PoolClient, email: string): Promise<void> {
    const userId = randomUUID();
    await client.query(`INSERT INTO "${schema}".users (id, email) VALUES ($1, $2)`, [userId, email]);
    await eventBus.dispatch(UserRegistered.create({ userId, email }));
  }

  try {
    await relay.start();
    log('users → register ada@example.com (commits)');
    await outbox.transaction((client) => registerUser(client, 'ada@example.com'));
    log('users → register ada@example.com again (the UNIQUE email fails: rolled back, no event)');
    await outbox
      .transaction((client) => registerUser(client, 'ada@example.com'))
      .catch((error: Error) => log(`users   rolled back: ${error.message}`));
    log('users → register grace@example.com, then the handler throws (rolled back, no event)');
    await outbox
      .transaction(async (client) => {
        await registerUser(client, 'grace@example.com');
        throw new Error('card declined');
      })
      .catch((error: Error) => log(`users   rolled back: ${error.message}`));

    const deadline = Date.now() + 5_000;
    while ((await relay.pending()) > 0 && Date.now() < deadline) await sleep(10);
    await sleep(50);
    const users = await pool.query(`SELECT email FROM "${schema}".users ORDER BY email`);
    const dead = await new OutboxDeadLetters({ connection: pool, schema }).count();
    log(
      `done: users ${JSON.stringify(users.rows.map((row) => (row as { email: string }).email))}, mails ${JSON.stringify(mailed)}, outbox empty, ${dead} dead letters`,
    );
    if (mailed.length !== 1 || mailed[0] !== 'ada@example.com') process.exitCode = 1;
  } finally {
    await relay.close();
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
  }
}

async function withoutOutbox(): Promise<void> {
  const routes = new EventRouter();
  routes.route(UserRegistered).to(toMail);
  const eventBus = new EventBus();
  eventBus.use(routes);
  log('users → register ada@example.com (no transaction: the event is sent at once)');
  await eventBus.dispatch(UserRegistered.create({ userId: randomUUID(), email: 'ada@example.com' }));
  await sleep(50);
  log(`done: mails ${JSON.stringify(mailed)}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
