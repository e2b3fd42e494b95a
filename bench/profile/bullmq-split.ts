/**
 * Splits the "commands end to end" row into its two halves, each measured alone (Node CPU via
 * process.cpuUsage, Redis CPU via INFO cpu, per message): the producer adding 4,000 messages at once
 * (no worker running) and the consumer draining them — Switchyard (its producer packing up to
 * `messagesPerJob` messages per job, default 1) against raw BullMQ (`Queue.add` all at once, a
 * `Worker`). Rounds alternate sides.
 *
 *   node --experimental-strip-types --conditions=switchyard-source bench/profile/bullmq-split.ts [rounds] [messagesPerJob]
 */
import { randomUUID } from 'node:crypto';
import * as switchyardBullMQ from '@switchyard/bullmq';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { JOB_OPTIONS } from '../lib/bullmq-job-options.ts';
import { BULLMQ_CONCURRENCY, switchyardBullMQPair } from '../lib/bullmq-switchyard-pair.ts';
import { median, untilCount } from '../lib/measure.ts';
import { deleteKeys, REDIS_URL } from '../lib/redis.ts';
import { Ping } from '../lib/transport-fixtures.ts';

const ROUNDS = Number(process.argv[2] ?? 6);
const MESSAGES_PER_JOB = Number(process.argv[3] ?? 1);
const OPS = 4_000;
const admin = new Redis(REDIS_URL);
async function redisCpu(): Promise<number> {
  const info = await admin.info('cpu');
  const field = (name: string) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
}
/** Calls and µs of each Redis command (INFO commandstats; a script's inner commands count too). */
async function commandStats(): Promise<Map<string, { calls: number; usec: number }>> {
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const line of (await admin.info('commandstats')).split('\n')) {
    const match = /^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/.exec(line);
    if (match !== null) stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  }
  return stats;
}
/** Per phase, the Redis commands of its last round: calls and µs per message. */
const perJob = new Map<string, string>();
async function measure(work: () => Promise<void>, phase?: string): Promise<[number, number, number]> {
  const stats0 = phase === undefined ? undefined : await commandStats();
  const cpu0 = process.cpuUsage();
  const redis0 = await redisCpu();
  const t0 = process.hrtime.bigint();
  await work();
  const us = Number(process.hrtime.bigint() - t0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  if (phase !== undefined) {
    const rows: string[] = [];
    for (const [name, after] of await commandStats()) {
      const before = stats0!.get(name) ?? { calls: 0, usec: 0 };
      const calls = (after.calls - before.calls) / OPS;
      if (calls >= 0.01)
        rows.push(`${name} ${calls.toFixed(2)}× ${((after.usec - before.usec) / OPS).toFixed(1)} µs`);
    }
    perJob.set(phase, rows.join(', '));
  }
  return [OPS / (us / 1e6), (cpu.user + cpu.system) / OPS, ((await redisCpu()) - redis0) / OPS];
}

const syPrefix = `sy-split-${randomUUID().slice(0, 8)}`;
const rawPrefix = `sy-split-raw-${randomUUID().slice(0, 8)}`;
const { receiver, consumer, producer, commandBus } = switchyardBullMQPair(
  'commands',
  syPrefix,
  switchyardBullMQ,
  MESSAGES_PER_JOB,
);
let rawHandled = 0;
const queue = new Queue('commands', { connection: { url: REDIS_URL }, prefix: rawPrefix });
const worker = new Worker(
  'commands',
  async (job: Job<{ n: number }>) => {
    if (typeof job.data.n === 'number') rawHandled++;
  },
  {
    connection: { url: REDIS_URL, maxRetriesPerRequest: null },
    prefix: rawPrefix,
    concurrency: BULLMQ_CONCURRENCY,
    autorun: false,
  },
);
await Promise.all([consumer.start(), producer.start(), worker.waitUntilReady(), queue.waitUntilReady()]);
void worker.run();
const results: Record<string, [number, number, number][]> = {
  'sy add': [],
  'raw add': [],
  'sy consume': [],
  'raw consume': [],
};
for (let round = 0; round < ROUNDS + 1; round++) {
  // Producer halves: the consumers are paused, so only the adds run.
  await consumer.worker.pause();
  await worker.pause();
  const syAdd = await measure(async () => {
    await Promise.all(Array.from({ length: OPS }, (_, n) => commandBus.dispatch(Ping.create({ n }))));
  }, 'sy add');
  const rawAdd = await measure(async () => {
    await Promise.all(Array.from({ length: OPS }, (_, n) => queue.add(Ping.name, { n }, JOB_OPTIONS)));
  }, 'raw add');
  const sy0 = receiver.handled();
  const syConsume = await measure(async () => {
    consumer.worker.resume();
    await untilCount(receiver.handled, sy0 + OPS);
  }, 'sy consume');
  const raw0 = rawHandled;
  const rawConsume = await measure(async () => {
    worker.resume();
    await untilCount(() => rawHandled, raw0 + OPS);
  }, 'raw consume');
  if (round === 0) continue; // warm-up
  results['sy add']!.push(syAdd);
  results['raw add']!.push(rawAdd);
  results['sy consume']!.push(syConsume);
  results['raw consume']!.push(rawConsume);
}
for (const [name, rows] of Object.entries(results)) {
  const col = (i: number) => median(rows.map((row) => row[i]!));
  console.log(
    `${name.padEnd(12)} ops/s ${Math.round(col(0))}  node CPU ${col(1).toFixed(1)} µs/message  redis CPU ${col(2).toFixed(1)} µs/message`,
  );
}
for (const [phase, rows] of perJob) console.log(`${phase}: ${rows}`);
await producer.close();
await consumer.close();
await worker.close();
await queue.close();
await deleteKeys(syPrefix);
await deleteKeys(rawPrefix);
admin.disconnect();
