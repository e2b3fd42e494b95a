/**
 * Postgres transport: Switchyard's `PostgresProducer` + `PostgresConsumer` against the Postgres
 * queue libraries used directly, and against a hand-written NOTIFY round trip, on the same server
 * in the same run. Every side gets a schema of its own (dropped afterwards).
 *
 * - commands end to end (dispatch → handled), all in flight: against graphile-worker
 *   (`addJob` + `run`) and pg-boss (`send` + `work`, LISTEN/NOTIFY on), same concurrency;
 * - one command at a time, dispatch → handled: the pick-up latency (NOTIFY, not polling);
 * - queries with 64 in flight and with 1 in flight: against a hand-written durable round trip
 *   (INSERT + NOTIFY, a LISTENing worker that takes rows with SKIP LOCKED and NOTIFYs the reply).
 *
 * PG_URL (default postgres://postgres@127.0.0.1:5432/test) picks the server.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Socket } from 'node:net';
import { migrate, PostgresConsumer, PostgresProducer } from '@switchyard/postgres';
import { Logger, makeWorkerUtils, run as runGraphileWorker } from 'graphile-worker';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { compareLatency, compareThroughput, untilCount } from '../lib/measure.ts';
import { Add, Ping, receivingBuses, sendingBuses } from '../lib/transport-fixtures.ts';
import type { BenchResult, BenchScenario } from '../lib/types.ts';

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const COMMAND_OPS = 2_000;
const QUERY_OPS = 8_000;
const CONCURRENCY = 32;
const IN_FLIGHT = 64;

const schemaName = (label: string) => `sy_bench_${label}_${randomBytes(4).toString('hex')}`;

async function dropSchemas(pool: pg.Pool, schemas: string[]): Promise<void> {
  for (const schema of schemas) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/** Switchyard's side of a comparison: a migrated schema, a consumer and a producer on it. */
async function switchyardPair(pool: pg.Pool, schema: string, queueName: string) {
  await migrate(pool, { schema });
  const receiver = receivingBuses();
  const consumer = new PostgresConsumer({
    connection: PG_URL,
    schema,
    queueName,
    concurrency: CONCURRENCY,
    commandBus: receiver.commandBus,
    queryBus: receiver.queryBus,
  });
  const producer = new PostgresProducer({ connection: PG_URL, schema, queueName });
  await Promise.all([consumer.start(), producer.start()]);
  return { receiver, consumer, producer, ...sendingBuses(producer) };
}

async function commands(pool: pg.Pool): Promise<BenchResult[]> {
  const schemas = { sy: schemaName('sy'), gw: schemaName('gw'), boss: schemaName('boss') };
  const sy = await switchyardPair(pool, schemas.sy, 'commands');
  // graphile-worker: its own schema, LISTEN/NOTIFY built in.
  let gwHandled = 0;
  const gwUtils = await makeWorkerUtils({ connectionString: PG_URL, schema: schemas.gw });
  await gwUtils.migrate();
  const gwRunner = await runGraphileWorker({
    connectionString: PG_URL,
    schema: schemas.gw,
    concurrency: CONCURRENCY,
    maxPoolSize: CONCURRENCY,
    noHandleSignals: true,
    pollInterval: 1_000,
    taskList: {
      ping: async (payload) => {
        if (typeof (payload as { n?: unknown }).n === 'number') gwHandled++;
      },
    },
    logger: quietGraphileLogger(),
  });
  // pg-boss: its own schema, LISTEN/NOTIFY switched on.
  let bossHandled = 0;
  const boss = new PgBoss({
    connectionString: PG_URL,
    schema: schemas.boss,
    useListenNotify: true,
    max: 10,
    connectionTimeoutMillis: 30_000,
  });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('ping', { notify: true, retryLimit: 2, retryDelay: 1, retryBackoff: true });
  await boss.work<{ n: number }>(
    'ping',
    { batchSize: CONCURRENCY, pollingIntervalSeconds: 0.5, burstWhenBatchFull: true },
    async (jobs) => {
      for (const job of jobs) if (typeof job.data.n === 'number') bossHandled++;
    },
  );

  const subject = {
    name: 'switchyard PostgresProducer + PostgresConsumer',
    run: async (ops: number) => {
      const target = sy.receiver.handled() + ops;
      await Promise.all(Array.from({ length: ops }, (_, n) => sy.commandBus.dispatch(Ping.create({ n }))));
      await untilCount(sy.receiver.handled, target);
    },
  };
  try {
    const graphile = await compareThroughput({
      name: 'postgres: commands end to end, all in flight',
      ops: COMMAND_OPS,
      rounds: 5,
      warmup: 1,
      subject,
      baseline: {
        name: 'graphile-worker addJobs (bulk) + run',
        run: async (ops) => {
          const target = gwHandled + ops;
          // Its bulk path (one statement), as fast as the library adds.
          await gwUtils.addJobs(
            Array.from({ length: ops }, (_, n) => ({ identifier: 'ping', payload: { n }, maxAttempts: 3 })),
          );
          await untilCount(() => gwHandled, target);
        },
      },
    });
    const pgBoss = await compareThroughput({
      name: 'postgres: commands end to end, all in flight',
      ops: COMMAND_OPS,
      rounds: 5,
      warmup: 1,
      subject,
      baseline: {
        name: 'pg-boss insert (bulk) + work (notify)',
        run: async (ops) => {
          const target = bossHandled + ops;
          // Its bulk path (one statement per insert call).
          await boss.insert(
            'ping',
            Array.from({ length: ops }, (_, n) => ({ data: { n } })),
          );
          await untilCount(() => bossHandled, target);
        },
      },
    });
    const pickUpSubject = {
      name: 'switchyard',
      once: async () => {
        const target = sy.receiver.handled() + 1;
        await sy.commandBus.dispatch(Ping.create({ n: 1 }));
        await untilCount(sy.receiver.handled, target, 5_000);
      },
    };
    const pickUp = await compareLatency({
      name: 'postgres: one command at a time, dispatch → handled',
      concurrency: 1,
      ops: 400,
      subject: pickUpSubject,
      baseline: {
        name: 'graphile-worker',
        once: async () => {
          const target = gwHandled + 1;
          await gwUtils.addJob('ping', { n: 1 });
          await untilCount(() => gwHandled, target, 5_000);
        },
      },
    });
    const bossPickUp = await compareLatency({
      name: 'postgres: one command at a time, dispatch → handled',
      concurrency: 1,
      ops: 200,
      subject: pickUpSubject,
      baseline: {
        name: 'pg-boss (notify)',
        once: async () => {
          const target = bossHandled + 1;
          await boss.send('ping', { n: 1 });
          await untilCount(() => bossHandled, target, 5_000);
        },
      },
    });
    const latencyRows = [...pickUp, ...bossPickUp].filter((row) => !row.name.includes('ops/s'));
    return [graphile, pgBoss, ...latencyRows];
  } finally {
    await sy.producer.close();
    await sy.consumer.close();
    await gwRunner.stop();
    await gwUtils.release();
    await boss.stop({ graceful: true, timeout: 5_000 });
    await dropSchemas(pool, Object.values(schemas));
  }
}

/**
 * The hand-written durable round trip: the requester inserts a row naming its reply channel and
 * NOTIFYs; a worker LISTENs, deletes up to 64 rows with SKIP LOCKED and NOTIFYs every reply in one
 * statement; the requester LISTENs on its channel and matches replies by id.
 */
async function handWritten(schema: string) {
  const table = `"${schema}".requests`;
  const admin = new pg.Pool({ connectionString: PG_URL, max: 10 });
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.query(`CREATE TABLE ${table} (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    correlation text NOT NULL, reply_to text NOT NULL, a integer NOT NULL, b integer NOT NULL)`);
  const requestChannel = `${schema}_req`;
  const replyChannel = `${schema}_rep`;
  const pending = new Map<string, (sum: number) => void>();
  const requester = new pg.Client({ connectionString: PG_URL });
  await requester.connect();
  requester.on('notification', (message) => {
    const [id, sum] = (message.payload ?? '').split(':');
    pending.get(id!)?.(Number(sum));
    pending.delete(id!);
  });
  await requester.query(`LISTEN "${replyChannel}"`);
  const workerListen = new pg.Client({ connectionString: PG_URL });
  await workerListen.connect();
  let draining = false;
  let again = false;
  const drain = async (): Promise<void> => {
    if (draining) {
      again = true;
      return;
    }
    draining = true;
    do {
      again = false;
      const taken = await admin.query<{ correlation: string; reply_to: string; a: number; b: number }>(
        `DELETE FROM ${table} WHERE id IN (SELECT id FROM ${table} ORDER BY id LIMIT 64 FOR UPDATE SKIP LOCKED)
         RETURNING correlation, reply_to, a, b`,
      );
      if (taken.rows.length > 0) {
        again = true;
        await admin.query('SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS r(c, p)', [
          taken.rows.map((row) => row.reply_to),
          taken.rows.map((row) => `${row.correlation}:${row.a + row.b}`),
        ]);
      }
    } while (again);
    draining = false;
  };
  workerListen.on('notification', () => void drain());
  await workerListen.query(`LISTEN "${requestChannel}"`);
  return {
    async query(a: number, b: number): Promise<number> {
      const correlation = randomUUID();
      const reply = new Promise<number>((resolve) => pending.set(correlation, resolve));
      await admin.query(
        `WITH r AS (INSERT INTO ${table} (correlation, reply_to, a, b) VALUES ($1, $2, $3, $4) RETURNING 1)
         SELECT pg_notify('${requestChannel}', '') FROM r`,
        [correlation, replyChannel, a, b],
      );
      return reply;
    },
    async close() {
      await requester.end();
      await workerListen.end();
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    },
  };
}

async function queries(pool: pg.Pool): Promise<BenchResult[]> {
  const schemas = { sy: schemaName('syq'), hand: schemaName('hand') };
  const sy = await switchyardPair(pool, schemas.sy, 'queries');
  const hand = await handWritten(schemas.hand);
  let n = 0;
  const subject = {
    name: 'switchyard PostgresProducer (NOTIFY replies)',
    once: async () => {
      const value = ++n;
      if ((await sy.queryBus.dispatch(Add.create({ a: value, b: value }))).sum !== value * 2)
        throw new Error('wrong reply');
    },
  };
  const baseline = {
    name: 'hand-written INSERT + NOTIFY round trip',
    once: async () => {
      const value = ++n;
      if ((await hand.query(value, value)) !== value * 2) throw new Error('wrong reply');
    },
  };
  try {
    const many = await compareLatency({
      name: `postgres: queries end to end, ${IN_FLIGHT} in flight`,
      concurrency: IN_FLIGHT,
      ops: QUERY_OPS,
      subject,
      baseline,
    });
    const one = await compareLatency({
      name: 'postgres: queries end to end, 1 in flight',
      concurrency: 1,
      ops: 1_000,
      subject,
      baseline,
    });
    return [...many, ...one.filter((row) => !row.name.includes('ops/s'))];
  } finally {
    await sy.producer.close();
    await sy.consumer.close();
    await hand.close();
    await dropSchemas(pool, [schemas.sy]);
  }
}

function quietGraphileLogger(): Logger {
  // graphile-worker logs every job at info; keep warnings and errors only.
  return new Logger(() => (level, message) => {
    if (level === 'error' || level === 'warning') console.error(`graphile-worker ${level}: ${message}`);
  });
}

async function postgresUnavailable(): Promise<string | undefined> {
  const url = new URL(PG_URL);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(1_000, () => done(`no PostgreSQL at ${url.host} (timeout)`));
    socket.once('error', (error) => done(`no PostgreSQL at ${url.host} (${error.message})`));
    socket.connect(Number(url.port || 5432), url.hostname, () => done(undefined));
  });
}

export const scenario: BenchScenario = {
  id: 'postgres',
  skip: postgresUnavailable,
  run: async () => {
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    try {
      return [...(await commands(pool)), ...(await queries(pool))];
    } finally {
      await pool.end();
    }
  },
};
