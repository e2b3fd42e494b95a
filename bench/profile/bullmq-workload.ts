/**
 * Micro-harness for attributing the Node time of the BullMQ rows of `pnpm bench bullmq` (not a
 * bench: no interleaving; quote `pnpm bench bullmq` for ratios). Runs one side of one row in its own
 * process, so a `--cpu-prof` profile holds that side only, and prints per op: wall µs, this
 * process's CPU µs (user+sys, producer and consumer together, as in the bench) and Redis's CPU µs.
 *
 *   node --experimental-strip-types --conditions=switchyard-source [--cpu-prof --cpu-prof-dir=DIR] \
 *     bench/profile/bullmq-workload.ts <mode> [rounds]
 *
 * Modes (same Redis commands, options and concurrency as bench/scenarios/bullmq.ts):
 * - sy-commands: commandBus.dispatch → BullMQProducer → BullMQConsumer, 4,000 in flight a round;
 * - raw-commands: Queue.add all at once + Worker (the bench's harder commands baseline);
 * - sy-queries: queryBus.dispatch with 100 in flight, 20,000 a round;
 * - raw-rpc: a hand-written BullMQ RPC doing Switchyard's Redis commands (same-tick addBulk of
 *   {envelope, replyTo} jobs, attempts 1, removeOnComplete; the worker publishes the reply) with
 *   100 in flight;
 * - raw-wait: Queue.add + job.waitUntilFinished (the bench's queries baseline), 100 in flight.
 * Analyse a profile with bench/profile/bullmq-attribute.ts.
 *
 * A/B in one process (rounds interleaved, so load from other work hits all sides alike): name the
 * variants after the round count — `current` (packages/bullmq as it is now), `raw` (the mode's
 * bench baseline), `rpc` (raw-rpc), or `<name>` for a copy of packages/bullmq/src made with
 * `cp -r packages/bullmq/src bench/profile/bullmq-variants/<name>` (delete it afterwards):
 *
 *   … bench/profile/bullmq-workload.ts sy-queries 8 before current raw rpc   (QUERY_OPS=5000 WARMUP=1)
 *
 * Knobs after `raw`/`rpc` make the raw side carry part of what Switchyard's jobs carry, to find
 * which part costs: for sy-commands `rawJ` (job id = a UUID, as message ids), `rawD` (data = a v1
 * envelope string), `rawJD` (both); for sy-queries `rpcF` (the queue on a fail-fast ioredis
 * instance), `rpcP` (the reply publisher autopipelined), `rpcE` (envelope with metadata and
 * createdAt). E.g. `… sy-commands 10 current raw rawJD`.
 */
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import * as current from '@switchyard/bullmq';
import { type Job, type JobsOptions, Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { JOB_OPTIONS } from '../lib/bullmq-job-options.ts';
import { BULLMQ_CONCURRENCY, type BullMQLib, switchyardBullMQPair } from '../lib/bullmq-switchyard-pair.ts';
import { untilCount } from '../lib/measure.ts';
import { REDIS_URL } from '../lib/redis.ts';
import { Add, Ping, rawEnvelope } from '../lib/transport-fixtures.ts';

const [mode = 'sy-commands', roundsArg = '5', ...variants] = process.argv.slice(2);
const ROUNDS = Number(roundsArg);
const WARMUP = Number(process.env.WARMUP ?? 2);
const COMMAND_OPS = 4_000;
const QUERY_OPS = Number(process.env.QUERY_OPS ?? 20_000);
const IN_FLIGHT = 100;
const CONCURRENCY = BULLMQ_CONCURRENCY;
const prefixes: string[] = [];
let prefix = '';
function newPrefix(): string {
  prefix = `sy-prof-${randomUUID().slice(0, 8)}`;
  prefixes.push(prefix);
  return prefix;
}
/** AUTOPIPELINE=1: the raw sides' worker connections coalesce same-tick commands (an experiment). */
const workerConnection = {
  url: REDIS_URL,
  maxRetriesPerRequest: null,
  ...(process.env.AUTOPIPELINE === '1' ? { enableAutoPipelining: true } : {}),
};

interface Side {
  readonly ops: number;
  readonly round: () => Promise<void>;
  readonly close: () => Promise<void>;
}

async function lanes(ops: number, once: () => Promise<void>): Promise<void> {
  let started = 0;
  const lane = async () => {
    while (started < ops) {
      started++;
      await once();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
}

async function syCommands(lib: BullMQLib): Promise<Side> {
  const { receiver, consumer, producer, commandBus } = switchyardBullMQPair('commands', newPrefix(), lib);
  await Promise.all([consumer.start(), producer.start()]);
  return {
    ops: COMMAND_OPS,
    round: async () => {
      const target = receiver.handled() + COMMAND_OPS;
      await Promise.all(
        Array.from({ length: COMMAND_OPS }, (_, n) => commandBus.dispatch(Ping.create({ n }))),
      );
      await untilCount(receiver.handled, target);
    },
    close: async () => {
      await producer.close();
      await consumer.close();
    },
  };
}

async function rawCommands(knobs = ''): Promise<Side> {
  const prefix = newPrefix();
  let handled = 0;
  const queue = new Queue('commands', { connection: { url: REDIS_URL }, prefix });
  const worker = new Worker(
    'commands',
    async (job: Job<{ n: number }>) => {
      if (typeof job.data.n === 'number' || typeof (job.data as { envelope?: string }).envelope === 'string')
        handled++;
    },
    { connection: workerConnection, prefix, concurrency: CONCURRENCY },
  );
  await Promise.all([worker.waitUntilReady(), queue.waitUntilReady()]);
  return {
    ops: COMMAND_OPS,
    round: async () => {
      const target = handled + COMMAND_OPS;
      await Promise.all(
        Array.from({ length: COMMAND_OPS }, (_, n) => {
          const id = randomUUID();
          const data = knobs.includes('D')
            ? { envelope: rawEnvelope('command', Ping.name, { n }, id) }
            : { n };
          return queue.add(
            Ping.name,
            data as { n: number },
            knobs.includes('J') ? { ...JOB_OPTIONS, jobId: id } : JOB_OPTIONS,
          );
        }),
      );
      await untilCount(() => handled, target);
    },
    close: async () => {
      await worker.close();
      await queue.close();
    },
  };
}

async function syQueries(lib: BullMQLib): Promise<Side> {
  const { consumer, producer, queryBus } = switchyardBullMQPair('queries', newPrefix(), lib);
  await Promise.all([consumer.start(), producer.start()]);
  let n = 0;
  return {
    ops: QUERY_OPS,
    round: () =>
      lanes(QUERY_OPS, async () => {
        const value = ++n;
        if ((await queryBus.dispatch(Add.create({ a: value, b: value }))).sum !== value * 2)
          throw new Error('wrong reply');
      }),
    close: async () => {
      await producer.close();
      await consumer.close();
    },
  };
}

/** Hand-written RPC over BullMQ with Switchyard's commands: addBulk per tick, pub/sub replies. */
async function rawRpc(knobs = ''): Promise<Side> {
  const prefix = newPrefix();
  const channel = `${prefix}:replies`;
  const queue = new Queue('queries', {
    connection: knobs.includes('F')
      ? new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000 })
      : { url: REDIS_URL },
    prefix,
  });
  const publisher = new Redis(REDIS_URL, knobs.includes('P') ? { enableAutoPipelining: true } : {});
  const subscriber = new Redis(REDIS_URL);
  const waiting = new Map<string, (sum: number) => void>();
  subscriber.on('message', (_channel: string, message: string) => {
    const reply = JSON.parse(message) as { id: string; sum: number };
    const resolve = waiting.get(reply.id);
    waiting.delete(reply.id);
    resolve?.(reply.sum);
  });
  await subscriber.subscribe(channel);
  const worker = new Worker(
    'queries',
    async (job: Job<{ envelope: string; replyTo: string }>) => {
      const { id, payload } = JSON.parse(job.data.envelope) as {
        id: string;
        payload: { a: number; b: number };
      };
      await publisher.publish(job.data.replyTo, JSON.stringify({ id, sum: payload.a + payload.b }));
    },
    { connection: workerConnection, prefix, concurrency: CONCURRENCY },
  );
  await Promise.all([worker.waitUntilReady(), queue.waitUntilReady()]);
  let batch: { name: string; data: unknown; opts: JobsOptions }[] = [];
  const flush = () => {
    const jobs = batch;
    batch = [];
    void queue.addBulk(jobs);
  };
  let n = 0;
  return {
    ops: QUERY_OPS,
    round: () =>
      lanes(QUERY_OPS, async () => {
        const value = ++n;
        const id = randomUUID();
        const envelope = JSON.stringify({
          v: 1,
          id,
          kind: 'query',
          name: Add.name,
          payload: { a: value, b: value },
          ...(knobs.includes('E') ? { metadata: {}, createdAt: new Date().toISOString() } : {}),
        });
        const reply = new Promise<number>((resolve) => waiting.set(id, resolve));
        if (batch.length === 0) setImmediate(flush);
        batch.push({
          name: Add.name,
          data: { envelope, replyTo: channel },
          opts: { attempts: 1, removeOnComplete: true, removeOnFail: false, jobId: id },
        });
        if ((await reply) !== value * 2) throw new Error('wrong reply');
      }),
    close: async () => {
      await worker.close();
      await queue.close();
      subscriber.disconnect();
      publisher.disconnect();
    },
  };
}

async function rawWait(): Promise<Side> {
  const prefix = newPrefix();
  const queue = new Queue('queries', { connection: { url: REDIS_URL }, prefix });
  const queueEvents = new QueueEvents('queries', { connection: workerConnection, prefix });
  queueEvents.setMaxListeners(0);
  queue.setMaxListeners(0);
  const worker = new Worker('queries', async (job: Job<{ n: number }>) => job.data.n * 2, {
    connection: workerConnection,
    prefix,
    concurrency: CONCURRENCY,
  });
  await Promise.all([worker.waitUntilReady(), queue.waitUntilReady(), queueEvents.waitUntilReady()]);
  let n = 0;
  return {
    ops: QUERY_OPS,
    round: () =>
      lanes(QUERY_OPS, async () => {
        const value = ++n;
        const job = await queue.add(Add.name, { n: value }, { ...JOB_OPTIONS, attempts: 1 });
        if ((await job.waitUntilFinished(queueEvents, 30_000)) !== value * 2) throw new Error('wrong reply');
      }),
    close: async () => {
      await worker.close();
      await queueEvents.close();
      await queue.close();
    },
  };
}

const sides: Record<string, (lib: BullMQLib) => Promise<Side>> = {
  'sy-commands': syCommands,
  'raw-commands': () => rawCommands(),
  'sy-queries': syQueries,
  'raw-rpc': () => rawRpc(),
  'raw-wait': rawWait,
};

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}

async function deleteKeys(redis: Redis, match: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${match}:*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
const admin = new Redis(REDIS_URL);

interface Sample {
  readonly opsPerSec: number;
  readonly nodeCpuUs: number;
  readonly redisCpuUs: number;
}

/** One timed round of `side`: ops/s, Node and Redis CPU µs per op. */
async function sample(side: Side): Promise<Sample> {
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpu(admin);
  const t0 = process.hrtime.bigint();
  await side.round();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const redisUs = (await redisCpu(admin)) - redis0;
  return {
    opsPerSec: side.ops / seconds,
    nodeCpuUs: (cpu.user + cpu.system) / side.ops,
    redisCpuUs: redisUs / side.ops,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const make = sides[mode];
if (make === undefined) throw new Error(`mode: one of ${Object.keys(sides).join(', ')}`);
if (variants.length > 0) {
  // A/B in one process: each variant (`current`, `raw` for the mode's raw counterpart, or a copy of
  // packages/bullmq/src under bench/profile/bullmq-variants/<name>) gets its own queue; rounds are
  // interleaved, the order rotating, so drift on this shared machine hits all alike.
  const raw: Record<string, (lib: BullMQLib) => Promise<Side>> = {
    'sy-commands': () => rawCommands(),
    'sy-queries': rawWait,
  };
  const built: Side[] = [];
  for (const variant of variants) {
    if (variant === 'raw') built.push(await raw[mode]!(current));
    else if (mode === 'sy-commands' && variant.startsWith('raw'))
      built.push(await rawCommands(variant.slice(3)));
    else if (variant.startsWith('rpc')) built.push(await rawRpc(variant.slice(3)));
    else {
      const lib =
        variant === 'current'
          ? current
          : ((await import(`./bullmq-variants/${variant}/index.ts`)) as BullMQLib);
      built.push(await make(lib));
    }
  }
  const samples: Sample[][] = built.map(() => []);
  try {
    console.log(`load before: ${load()}`);
    for (let round = 0; round < WARMUP; round++) for (const side of built) await side.round();
    for (let round = 0; round < ROUNDS; round++) {
      const order = built.map((_, index) => index);
      if (round % 2 === 1) order.reverse();
      for (const index of order) samples[index]!.push(await sample(built[index]!));
    }
    variants.forEach((variant, index) => {
      const own = samples[index]!;
      const rates = own.map((entry) => entry.opsPerSec);
      console.log(
        `${mode} ${variant.padEnd(10)} ops/s median ${Math.round(median(rates))} [${Math.round(Math.min(...rates))}–${Math.round(Math.max(...rates))}]` +
          `  node CPU ${median(own.map((entry) => entry.nodeCpuUs)).toFixed(1)} µs/op` +
          `  redis CPU ${median(own.map((entry) => entry.redisCpuUs)).toFixed(1)} µs/op` +
          (index === 0
            ? ''
            : `  ratio vs ${variants[0]} ${(median(rates) / median(samples[0]!.map((entry) => entry.opsPerSec))).toFixed(2)}×`),
      );
    });
    console.log(`load after: ${load()}`);
  } finally {
    for (const side of built) await side.close();
    for (const match of prefixes) await deleteKeys(admin, match);
    admin.disconnect();
  }
  process.exit(0);
}
const side = await make(current);
try {
  for (let round = 0; round < WARMUP; round++) await side.round();
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpu(admin);
  const t0 = process.hrtime.bigint();
  const perRound: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const r0 = process.hrtime.bigint();
    await side.round();
    perRound.push(side.ops / (Number(process.hrtime.bigint() - r0) / 1e9));
  }
  const wallUs = Number(process.hrtime.bigint() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  const redisUs = (await redisCpu(admin)) - redis0;
  const ops = side.ops * ROUNDS;
  const sorted = perRound.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      mode,
      ops,
      opsPerSec: Math.round(sorted[Math.floor(sorted.length / 2)]!),
      wallUsPerOp: +(wallUs / ops).toFixed(1),
      nodeCpuUsPerOp: +((cpu.user + cpu.system) / ops).toFixed(1),
      nodeUserUsPerOp: +(cpu.user / ops).toFixed(1),
      redisCpuUsPerOp: +(redisUs / ops).toFixed(1),
    }),
  );
} finally {
  await side.close();
  for (const match of prefixes) await deleteKeys(admin, match);
  admin.disconnect();
}
