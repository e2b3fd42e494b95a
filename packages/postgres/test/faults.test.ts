import { waitFor } from '@switchyard/conformance';
import {
  CommandBus,
  CommandRouter,
  defineCommand,
  defineQuery,
  ErrorCode,
  isSwitchyardError,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeadLetters, PostgresConsumer, PostgresProducer } from '../src/index.ts';
import { dropSchema, migratedSchema, PG_URL, testPool } from './pg-test-kit.ts';
import { TcpProxy } from './tcp-proxy.ts';

const Ping = defineCommand<{ n: number }>('faults.Ping');
const Echo = defineQuery<{ n: number }, { n: number }>('faults.Echo');

const pool = testPool(4);
const target = new URL(PG_URL);
let schema = '';
beforeAll(async () => {
  schema = await migratedSchema(pool, 'faults');
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

/** A consumer on `queueName` that records the commands it handled and answers Echo. */
async function consumerFor(queueName: string, handled: number[]) {
  const handlers = new CommandRouter();
  handlers.route(Ping).to((command) => {
    handled.push(command.payload.n);
  });
  const finders = new QueryRouter();
  finders.route(Echo).to((query) => query.payload);
  const commandBus = new CommandBus();
  commandBus.use(handlers);
  const queryBus = new QueryBus();
  queryBus.use(finders);
  const errors: unknown[] = [];
  const consumer = new PostgresConsumer({
    connection: PG_URL,
    schema,
    queueName,
    commandBus,
    queryBus,
    onError: (error) => errors.push(error),
  });
  await consumer.start();
  return { consumer, errors };
}

function senderFor(producer: PostgresProducer) {
  const commands = new CommandRouter();
  commands.route(Ping).to(producer);
  const queries = new QueryRouter();
  queries.route(Echo).to(producer);
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, queryBus };
}

async function timed<T>(work: Promise<T>): Promise<{ error: unknown; ms: number }> {
  const started = Date.now();
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  return { error, ms: Date.now() - started };
}

describe('PostgreSQL unreachable during dispatch', () => {
  it('rejects with SWITCHYARD_TRANSPORT_ERROR within the timeout, never hangs, and recovers without a new producer', {
    timeout: 60_000,
  }, async () => {
    const proxy = new TcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    await proxy.start();
    const handled: number[] = [];
    const { consumer } = await consumerFor('outage', handled);
    const url = new URL(PG_URL);
    url.port = String(proxy.port);
    const producerErrors: unknown[] = [];
    const producer = new PostgresProducer({
      connection: url.toString(),
      schema,
      queueName: 'outage',
      sendTimeoutMs: 1_000,
      replyTimeoutMs: 3_000,
      onError: (error) => producerErrors.push(error),
    });
    const sender = senderFor(producer);
    try {
      await sender.commandBus.dispatch(Ping.create({ n: 1 }));
      await expect(sender.queryBus.dispatch(Echo.create({ n: 1 }))).resolves.toEqual({ n: 1 });

      // 1. The port is closed: refused at once.
      await proxy.stop();
      const refused = await timed(sender.commandBus.dispatch(Ping.create({ n: 2 })));
      expect(isSwitchyardError(refused.error, ErrorCode.TransportError)).toBe(true);
      expect(refused.ms).toBeLessThan(1_500);
      const query = await timed(sender.queryBus.dispatch(Echo.create({ n: 2 })));
      expect(isSwitchyardError(query.error, ErrorCode.TransportError)).toBe(true);
      expect(query.ms).toBeLessThan(1_500);

      // 2. The server hangs (connections accepted, nothing answered): bounded by sendTimeoutMs.
      await proxy.start();
      proxy.blackhole();
      const hung = await timed(sender.commandBus.dispatch(Ping.create({ n: 3 })));
      expect(isSwitchyardError(hung.error, ErrorCode.TransportError)).toBe(true);
      expect(hung.ms).toBeGreaterThanOrEqual(900);
      expect(hung.ms).toBeLessThan(2_500);

      // 3. Back: the same producer sends again (commands at once, queries once its LISTEN reconnected).
      await proxy.start();
      await waitFor(
        () =>
          sender.commandBus.dispatch(Ping.create({ n: 4 })).then(
            () => true,
            () => false,
          ),
        10_000,
        'a command to be accepted again',
      );
      await waitFor(() => handled.includes(4), 5_000, 'the command after recovery to be handled');
      await waitFor(
        () =>
          sender.queryBus.dispatch(Echo.create({ n: 5 })).then(
            (reply) => reply.n === 5,
            () => false,
          ),
        10_000,
        'a query to be answered again',
      );
      expect(handled).not.toContain(2);
      expect(producerErrors.length).toBeGreaterThan(0); // the lost connections were reported
    } finally {
      await producer.close();
      await consumer.close();
      await proxy.stop();
    }
  });

  it('a producer pointed at a closed port: start() rejects with SWITCHYARD_TRANSPORT_ERROR quickly', async () => {
    const proxy = new TcpProxy({ host: '127.0.0.1', port: 1 });
    await proxy.start();
    const port = proxy.port;
    await proxy.stop(); // a loopback port nobody listens on
    const url = new URL(PG_URL);
    url.port = String(port);
    const producer = new PostgresProducer({
      connection: url.toString(),
      schema,
      queueName: 'closed',
      sendTimeoutMs: 1_000,
    });
    const started = await timed(producer.start());
    expect(isSwitchyardError(started.error, ErrorCode.TransportError)).toBe(true);
    expect(started.ms).toBeLessThan(1_500);
    await producer.close();
  });

  it('survives pg_terminate_backend of every connection it holds', { timeout: 30_000 }, async () => {
    const handled: number[] = [];
    const { consumer } = await consumerFor('terminated', handled);
    const application = `switchyard_fault_${process.pid}`;
    const producer = new PostgresProducer({
      connection: { connectionString: PG_URL, application_name: application },
      schema,
      queueName: 'terminated',
      sendTimeoutMs: 1_000,
      onError: () => undefined,
    });
    const sender = senderFor(producer);
    try {
      await expect(sender.queryBus.dispatch(Echo.create({ n: 1 }))).resolves.toEqual({ n: 1 });
      const killed = await pool.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
        [application],
      );
      expect(killed.rowCount).toBeGreaterThanOrEqual(2); // the LISTEN connection and a pool connection
      // A dispatch now either gets a fresh connection or fails typed — never hangs.
      const outcome = await timed(sender.commandBus.dispatch(Ping.create({ n: 2 })));
      if (outcome.error !== undefined)
        expect(isSwitchyardError(outcome.error, ErrorCode.TransportError)).toBe(true);
      expect(outcome.ms).toBeLessThan(1_500);
      await sender.commandBus.dispatch(Ping.create({ n: 3 }));
      await waitFor(() => handled.includes(3), 5_000, 'the command after the kill');
      await waitFor(
        () =>
          sender.queryBus.dispatch(Echo.create({ n: 4 })).then(
            (reply) => reply.n === 4,
            () => false,
          ),
        10_000,
        'a query answered after the LISTEN connection came back',
      );
    } finally {
      await producer.close();
      await consumer.close();
    }
  });
});

describe('a malformed row', () => {
  it('becomes a dead letter and the consumer keeps serving', async () => {
    const handled: number[] = [];
    const { consumer, errors } = await consumerFor('malformed', handled);
    const deadLetters = new DeadLetters({ connection: PG_URL, schema, queueName: 'malformed' });
    const producer = new PostgresProducer({ connection: PG_URL, schema, queueName: 'malformed' });
    const sender = senderFor(producer);
    try {
      // Inserted by hand: bad JSON, and JSON that is no envelope (as a query, with a reply channel).
      await pool.query(
        `INSERT INTO "${schema}".queue_messages (queue, message_id, name, envelope, max_attempts, reply_to)
         VALUES ('malformed', 'bad-json', 'Nope', '{not json', 3, NULL),
                ('malformed', 'not-an-envelope', 'Nope', '{"hello":"world"}', 3, '${schema}_reply_nobody')`,
      );
      await pool.query(`SELECT pg_notify('${schema}_queue', 'malformed')`);
      await waitFor(async () => (await deadLetters.count()) === 2, 5_000, 'two dead letters');
      const letters = await deadLetters.list();
      expect(letters.map((letter) => letter.messageId).sort()).toEqual(['bad-json', 'not-an-envelope']);
      for (const letter of letters) {
        expect(letter.failedReason).toMatch(/^SWITCHYARD_DECODE_ERROR: /);
        expect(letter.attemptsMade).toBe(1); // not retried: the outcome table says so
        expect(letter.message).toBeUndefined();
      }
      expect(errors.length).toBe(2);
      await sender.commandBus.dispatch(Ping.create({ n: 7 }));
      await waitFor(() => handled.includes(7), 5_000, 'a good command after the bad rows');
      await expect(sender.queryBus.dispatch(Echo.create({ n: 8 }))).resolves.toEqual({ n: 8 });
    } finally {
      await producer.close();
      await consumer.close();
      await deadLetters.close();
    }
  });
});
