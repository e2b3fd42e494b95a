/**
 * The transactional outbox (`@switchyard/postgres`), against dispatching straight to the same
 * target producer — a `BullMQProducer` on the local Redis — in the same run:
 *
 * - relay throughput: 4,000 committed outbox messages over 16 streams forwarded by `OutboxRelay`
 *   batches (16 streams at once, each in order), against the same 4,000 events dispatched on an
 *   event bus routed straight to the producer with 16 in flight. Both sides count a message when
 *   the producer's `produce` resolved (the job is in Redis). Filling the outbox is not timed;
 * - end to end: 2,000 events, each dispatched in an `outbox.transaction()` of its own (16 writers
 *   at once, 16 streams), until the live relay forwarded all of them, against the same straight
 *   dispatch — the whole cost of the outbox, writes included;
 * - commit → delivery latency, one at a time: from `outbox.transaction()` resolving (commit) to the
 *   relay's `produce` resolving, the relay woken by LISTEN/NOTIFY; against `eventBus.dispatch`
 *   straight to the producer (dispatch → job in Redis).
 *
 * Own PostgreSQL schema and Redis key prefix per run, both deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { BullMQProducer } from '@switchyard/bullmq';
import { type AnyMessage, defineEvent, EventBus, EventRouter, type MessageProducer } from '@switchyard/core';
import { migrate, OUTBOX_STREAM, OutboxRelay, PostgresOutbox } from '@switchyard/postgres';
import pg from 'pg';
import { lanes, median, percentile } from '../lib/measure.ts';
import { deleteKeys, REDIS_URL, redisUnavailable } from '../lib/redis.ts';
import type { BenchResult, BenchScenario } from '../lib/types.ts';

const PG_URL = process.env.PG_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const OPS = 4_000;
const STREAMS = 16;
const IN_FLIGHT = 16;
const ROUNDS = 7;
const LATENCY_OPS = 400;
const E2E_OPS = 2_000;
const BaselineName = 'eventBus.dispatch straight to BullMQProducer';

const Signed = defineEvent<{ n: number }>('bench.Signed');

/** The target producer, counting what it took and telling waiters when a message id was taken. */
class Counted implements MessageProducer {
  readonly capabilities;
  taken = 0;
  readonly #inner: MessageProducer;
  readonly #waiting = new Map<string, () => void>();
  constructor(inner: MessageProducer) {
    this.#inner = inner;
    this.capabilities = inner.capabilities;
  }
  async produce(message: AnyMessage): Promise<void> {
    await this.#inner.produce(message);
    this.taken++;
    this.#waiting.get(message.id)?.();
  }
  taking(id: string): Promise<void> {
    return new Promise((resolve) => this.#waiting.set(id, resolve));
  }
  forget(id: string): void {
    this.#waiting.delete(id);
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

async function postgresUnavailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 1_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return undefined;
  } catch (error) {
    return `no PostgreSQL at ${PG_URL} (${(error as Error).message})`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function run(): Promise<BenchResult[]> {
  const schema = `sy_bench_outbox_${randomUUID().slice(0, 8)}`;
  const prefix = `sy-bench-outbox-${randomUUID().slice(0, 8)}`;
  const pool = new pg.Pool({ connectionString: PG_URL, max: 24 });
  pool.on('error', () => undefined);
  const bullmq = new BullMQProducer({ queueName: 'outbox-target', prefix, connection: REDIS_URL });
  const target = new Counted(bullmq);
  try {
    await migrate(pool, { schema });
    await bullmq.start();
    const outbox = new PostgresOutbox({ pool, schema });
    const viaOutbox = new EventRouter();
    viaOutbox.route(Signed).to(outbox.to('bullmq'));
    const outboxBus = new EventBus();
    outboxBus.use(viaOutbox);
    const straight = new EventRouter();
    straight.route(Signed).to(target);
    const straightBus = new EventBus();
    straightBus.use(straight);
    const event = (n: number) => Signed.create({ n }, { metadata: { [OUTBOX_STREAM]: `s${n % STREAMS}` } });

    // ---- relay throughput -------------------------------------------------------------------
    const relay = new OutboxRelay({
      connection: pool,
      schema,
      targets: { bullmq: target },
      concurrency: STREAMS,
    });
    const fill = async (): Promise<void> => {
      for (let start = 0; start < OPS; start += 200) {
        await outbox.transaction(async () => {
          for (let n = start; n < start + 200; n++) await outboxBus.dispatch(event(n));
        });
      }
    };
    const relayRound = async (): Promise<number> => {
      await fill();
      const before = target.taken;
      const started = process.hrtime.bigint();
      while (target.taken - before < OPS) {
        const result = await relay.tick();
        if (result.streams === 0) throw new Error(`relay stalled at ${target.taken - before} of ${OPS}`);
      }
      return OPS / (Number(process.hrtime.bigint() - started) / 1e9);
    };
    const straightRound = async (): Promise<number> => {
      const send = lanes((n) => straightBus.dispatch(event(n)), IN_FLIGHT);
      const started = process.hrtime.bigint();
      await send(OPS);
      return OPS / (Number(process.hrtime.bigint() - started) / 1e9);
    };
    await relayRound(); // warm-up
    await straightRound();
    const relayRates: number[] = [];
    const straightRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      if (round % 2 === 0) {
        relayRates.push(await relayRound());
        straightRates.push(await straightRound());
      } else {
        straightRates.push(await straightRound());
        relayRates.push(await relayRound());
      }
    }
    const relayOps = median(relayRates);
    const straightOps = median(straightRates);
    console.log(
      `  relay rounds ${relayRates.map((r) => Math.round(r)).join(', ')} ops/s; straight ${straightRates.map((r) => Math.round(r)).join(', ')} ops/s`,
    );

    // ---- end to end: each event in a transaction of its own, the relay live ---------------------
    await relay.close();
    const live = new OutboxRelay({
      connection: pool,
      schema,
      targets: { bullmq: target },
      concurrency: STREAMS,
    });
    await live.start();
    const endToEndRound = async (): Promise<number> => {
      const before = target.taken;
      const write = lanes((n) => outbox.transaction(() => outboxBus.dispatch(event(n))), IN_FLIGHT);
      const started = process.hrtime.bigint();
      await write(E2E_OPS);
      const deadline = Date.now() + 60_000;
      while (target.taken - before < E2E_OPS) {
        if (Date.now() > deadline) throw new Error(`end to end stalled at ${target.taken - before}`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      return E2E_OPS / (Number(process.hrtime.bigint() - started) / 1e9);
    };
    const straightE2E = async (): Promise<number> => {
      const send = lanes((n) => straightBus.dispatch(event(n)), IN_FLIGHT);
      const started = process.hrtime.bigint();
      await send(E2E_OPS);
      return E2E_OPS / (Number(process.hrtime.bigint() - started) / 1e9);
    };
    await endToEndRound();
    const e2eRates: number[] = [];
    const e2eStraight: number[] = [];
    for (let round = 0; round < 5; round++) {
      if (round % 2 === 0) {
        e2eRates.push(await endToEndRound());
        e2eStraight.push(await straightE2E());
      } else {
        e2eStraight.push(await straightE2E());
        e2eRates.push(await endToEndRound());
      }
    }
    console.log(
      `  end-to-end rounds ${e2eRates.map((r) => Math.round(r)).join(', ')} ops/s; straight ${e2eStraight.map((r) => Math.round(r)).join(', ')} ops/s`,
    );

    // ---- commit → delivery latency --------------------------------------------------------------
    const commitToDelivery: number[] = [];
    const dispatchToTaken: number[] = [];
    const viaOutboxOnce = async (n: number): Promise<void> => {
      const message = event(n);
      const taken = target.taking(message.id);
      await outbox.transaction(() => outboxBus.dispatch(message));
      const committed = process.hrtime.bigint();
      await taken;
      target.forget(message.id);
      commitToDelivery.push(Number(process.hrtime.bigint() - committed) / 1e6);
    };
    const straightOnce = async (n: number): Promise<void> => {
      const started = process.hrtime.bigint();
      await straightBus.dispatch(event(n));
      dispatchToTaken.push(Number(process.hrtime.bigint() - started) / 1e6);
    };
    for (let n = 0; n < 40; n++) {
      await viaOutboxOnce(n); // warm-up, discarded
      await straightOnce(n);
    }
    commitToDelivery.length = 0;
    dispatchToTaken.length = 0;
    for (const side of [
      'outbox',
      'straight',
      'straight',
      'outbox',
      'straight',
      'outbox',
      'outbox',
      'straight',
    ]) {
      for (let n = 0; n < LATENCY_OPS / 4; n++) {
        if (side === 'outbox') await viaOutboxOnce(n);
        else await straightOnce(n);
      }
    }
    await live.close();

    const latencyRow = (metric: string, p: number): BenchResult => {
      const subject = percentile(commitToDelivery, p);
      const baseline = percentile(dispatchToTaken, p);
      return {
        name: `outbox: commit → delivered to BullMQ, 1 in flight (${metric} ms)`,
        unit: 'ms',
        subject,
        baseline,
        baselineName: `${BaselineName} (dispatch → job added)`,
        ratio: baseline / subject,
      };
    };
    return [
      {
        name: `outbox: relay forwarding ${OPS} committed messages, ${STREAMS} streams (ops/s)`,
        unit: 'ops/s',
        subject: relayOps,
        baseline: straightOps,
        baselineName: `${BaselineName}, ${IN_FLIGHT} in flight`,
        ratio: relayOps / straightOps,
      },
      {
        name: `outbox: end to end, 1 event per transaction, ${IN_FLIGHT} writers, relay live (ops/s)`,
        unit: 'ops/s',
        subject: median(e2eRates),
        baseline: median(e2eStraight),
        baselineName: `${BaselineName}, ${IN_FLIGHT} in flight`,
        ratio: median(e2eRates) / median(e2eStraight),
      },
      latencyRow('p50', 50),
      latencyRow('p99', 99),
    ];
  } finally {
    await target.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
    await pool.end();
    await deleteKeys(prefix);
  }
}

export const scenario: BenchScenario = {
  id: 'outbox',
  skip: async () => (await postgresUnavailable()) ?? (await redisUnavailable()),
  run,
};
