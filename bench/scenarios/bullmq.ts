/**
 * BullMQ transport: Switchyard's producer + consumer against raw BullMQ on the same Redis, in the
 * same run, each side under its own unique key prefix (deleted afterwards).
 *
 * - commands end to end (dispatch → handled): `commandBus.dispatch` through `BullMQProducer`
 *   (same-tick adds coalesced into `addBulk`) and `BullMQConsumer`, against a `Worker` fed by
 *   `Queue.add` one by one (each add awaited, the naive loop) and, as a second, harder baseline,
 *   by `Queue.add` for every job at once (ioredis then pipelines the adds itself), and by the same
 *   all-at-once adds carrying what a Switchyard job carries (job id = message id, the JSON envelope
 *   as data, parsed by the worker);
 * - queries end to end with 100 in flight: `queryBus.dispatch` (reply over pub/sub), against
 *   `Queue.add` + `job.waitUntilFinished(queueEvents)`.
 * - both again with the producer's `messagesPerJob: 100` (the messages dispatched in one tick share
 *   jobs), against the harder baseline of each.
 *
 * - durable fan-out to 3 subscriber groups (published → handled by all 3): `TopicPublisher` +
 *   one `TopicSubscriber` per group (a Redis stream, one consumer group each), against the way
 *   BullMQ users fan out — the publisher adds each event to 3 queues (all adds in flight), one
 *   `Worker` per queue.
 *
 * Both sides use the same job options (attempts, backoff, retention) and worker concurrency.
 */
import { randomUUID } from 'node:crypto';
import * as switchyardBullMQ from '@switchyard/bullmq';
import { TopicPublisher, TopicSubscriber } from '@switchyard/bullmq';
import { defineEvent, EventBus, EventRouter } from '@switchyard/core';
import { type Job, Queue, QueueEvents, Worker } from 'bullmq';
import { JOB_OPTIONS } from '../lib/bullmq-job-options.ts';
import { BULLMQ_CONCURRENCY, BULLMQ_PACK, switchyardBullMQPair } from '../lib/bullmq-switchyard-pair.ts';
import { compareLatency, compareThroughput, untilCount } from '../lib/measure.ts';
import { deleteKeys, REDIS_URL, redisUnavailable } from '../lib/redis.ts';
import { Add, Ping, rawEnvelope } from '../lib/transport-fixtures.ts';
import type { BenchResult, BenchScenario } from '../lib/types.ts';

const COMMAND_OPS = 4_000;
const QUERY_OPS = 20_000;
const IN_FLIGHT = 100;
const CONCURRENCY = BULLMQ_CONCURRENCY;

async function commands(): Promise<BenchResult[]> {
  const syPrefix = `sy-bench-${randomUUID().slice(0, 8)}`;
  const rawPrefix = `sy-bench-raw-${randomUUID().slice(0, 8)}`;
  // Switchyard
  const { receiver, consumer, producer, commandBus: sendBus } = switchyardBullMQPair('commands', syPrefix);
  const packedPrefix = `sy-bench-packed-${randomUUID().slice(0, 8)}`;
  const packed = switchyardBullMQPair('commands', packedPrefix, switchyardBullMQ, BULLMQ_PACK);
  // Raw BullMQ
  let rawHandled = 0;
  const connection = { url: REDIS_URL };
  const queue = new Queue('commands', { connection, prefix: rawPrefix });
  const worker = new Worker(
    'commands',
    async (job: Job<{ n: number } | { envelope: string }>) => {
      const data = job.data;
      const n =
        'envelope' in data ? (JSON.parse(data.envelope) as { payload: { n: number } }).payload.n : data.n;
      if (typeof n === 'number') rawHandled++;
    },
    {
      connection: { url: REDIS_URL, maxRetriesPerRequest: null },
      prefix: rawPrefix,
      concurrency: CONCURRENCY,
    },
  );
  await Promise.all([
    consumer.start(),
    producer.start(),
    packed.consumer.start(),
    packed.producer.start(),
    worker.waitUntilReady(),
    queue.waitUntilReady(),
  ]);
  const subject = {
    name: 'switchyard BullMQProducer + BullMQConsumer',
    run: async (ops: number) => {
      const target = receiver.handled() + ops;
      await Promise.all(Array.from({ length: ops }, (_, n) => sendBus.dispatch(Ping.create({ n }))));
      await untilCount(receiver.handled, target);
    },
  };
  try {
    const oneByOne = await compareThroughput({
      name: 'bullmq: commands end to end',
      ops: COMMAND_OPS,
      subject,
      baseline: {
        name: 'raw bullmq Queue.add one by one + Worker',
        run: async (ops) => {
          const target = rawHandled + ops;
          for (let n = 0; n < ops; n++) await queue.add(Ping.name, { n }, JOB_OPTIONS);
          await untilCount(() => rawHandled, target);
        },
      },
    });
    const rawAllAtOnce = {
      name: 'raw bullmq Queue.add all at once + Worker',
      run: async (ops: number) => {
        const target = rawHandled + ops;
        await Promise.all(Array.from({ length: ops }, (_, n) => queue.add(Ping.name, { n }, JOB_OPTIONS)));
        await untilCount(() => rawHandled, target);
      },
    };
    const allAtOnce = await compareThroughput({
      name: 'bullmq: commands end to end, raw adds all in flight',
      ops: COMMAND_OPS,
      subject,
      baseline: rawAllAtOnce,
    });
    const packedAllAtOnce = await compareThroughput({
      name: `bullmq: commands end to end, messagesPerJob: ${BULLMQ_PACK}, raw adds all in flight`,
      ops: COMMAND_OPS,
      subject: {
        name: `switchyard BullMQProducer (messagesPerJob: ${BULLMQ_PACK}) + BullMQConsumer`,
        run: async (ops: number) => {
          const target = packed.receiver.handled() + ops;
          await Promise.all(
            Array.from({ length: ops }, (_, n) => packed.commandBus.dispatch(Ping.create({ n }))),
          );
          await untilCount(packed.receiver.handled, target);
        },
      },
      baseline: rawAllAtOnce,
    });
    // Like for like: the raw jobs carry what a Switchyard job carries — the message id as job id
    // (BullMQ then refuses a re-sent duplicate) and the JSON envelope as data, parsed by the worker.
    const likeForLike = await compareThroughput({
      name: 'bullmq: commands end to end, raw adds all in flight with message ids and envelopes',
      ops: COMMAND_OPS,
      subject,
      baseline: {
        name: 'raw bullmq Queue.add all at once, jobId = UUID, envelope data + Worker',
        run: async (ops) => {
          const target = rawHandled + ops;
          await Promise.all(
            Array.from({ length: ops }, (_, n) => {
              const id = randomUUID();
              const envelope = rawEnvelope('command', Ping.name, { n }, id);
              return queue.add(Ping.name, { envelope }, { ...JOB_OPTIONS, jobId: id });
            }),
          );
          await untilCount(() => rawHandled, target);
        },
      },
    });
    return [oneByOne, allAtOnce, likeForLike, packedAllAtOnce];
  } finally {
    await producer.close();
    await consumer.close();
    await packed.producer.close();
    await packed.consumer.close();
    await deleteKeys(packedPrefix);
    await worker.close();
    await queue.close();
    await deleteKeys(syPrefix);
    await deleteKeys(rawPrefix);
  }
}

async function queries(): Promise<BenchResult[]> {
  const syPrefix = `sy-bench-${randomUUID().slice(0, 8)}`;
  const rawPrefix = `sy-bench-raw-${randomUUID().slice(0, 8)}`;
  // Switchyard
  const { consumer, producer, queryBus: sendBus } = switchyardBullMQPair('queries', syPrefix);
  const packedPrefix = `sy-bench-packed-${randomUUID().slice(0, 8)}`;
  const packed = switchyardBullMQPair('queries', packedPrefix, switchyardBullMQ, BULLMQ_PACK);
  // Raw BullMQ: the documented request/response pattern.
  const connection = { url: REDIS_URL };
  const queue = new Queue('queries', { connection, prefix: rawPrefix });
  const queueEvents = new QueueEvents('queries', {
    connection: { url: REDIS_URL, maxRetriesPerRequest: null },
    prefix: rawPrefix,
  });
  // waitUntilFinished adds listeners per waiter (to the events and the queue): silence the warnings.
  queueEvents.setMaxListeners(0);
  queue.setMaxListeners(0);
  const worker = new Worker('queries', async (job: Job<{ n: number }>) => job.data.n * 2, {
    connection: { url: REDIS_URL, maxRetriesPerRequest: null },
    prefix: rawPrefix,
    concurrency: CONCURRENCY,
  });
  await Promise.all([
    consumer.start(),
    producer.start(),
    packed.consumer.start(),
    packed.producer.start(),
    worker.waitUntilReady(),
    queue.waitUntilReady(),
    queueEvents.waitUntilReady(),
  ]);
  let n = 0;
  const raw = {
    name: 'raw bullmq Queue.add + waitUntilFinished',
    once: async () => {
      const value = ++n;
      // Raw BullMQ keeps completed jobs so waitUntilFinished can read the result.
      const job = await queue.add(Add.name, { n: value }, { ...JOB_OPTIONS, attempts: 1 });
      if ((await job.waitUntilFinished(queueEvents, 30_000)) !== value * 2) throw new Error('wrong reply');
    },
  };
  /** One query through a sending query bus, its reply checked. */
  const queryThrough = (bus: typeof sendBus) => async () => {
    const value = ++n;
    if ((await bus.dispatch(Add.create({ a: value, b: value }))).sum !== value * 2)
      throw new Error('wrong reply');
  };
  try {
    const oneJobEach = await compareLatency({
      name: `bullmq: queries end to end, ${IN_FLIGHT} in flight`,
      concurrency: IN_FLIGHT,
      ops: QUERY_OPS,
      subject: { name: 'switchyard BullMQProducer (pub/sub replies)', once: queryThrough(sendBus) },
      baseline: raw,
    });
    const packedQueries = await compareLatency({
      name: `bullmq: queries end to end, messagesPerJob: ${BULLMQ_PACK}, ${IN_FLIGHT} in flight`,
      concurrency: IN_FLIGHT,
      ops: QUERY_OPS,
      subject: {
        name: `switchyard BullMQProducer (messagesPerJob: ${BULLMQ_PACK}, pub/sub replies)`,
        once: queryThrough(packed.queryBus),
      },
      baseline: raw,
    });
    return [...oneJobEach, ...packedQueries];
  } finally {
    await producer.close();
    await consumer.close();
    await packed.producer.close();
    await packed.consumer.close();
    await deleteKeys(packedPrefix);
    await worker.close();
    await queueEvents.close();
    await queue.close();
    await deleteKeys(syPrefix);
    await deleteKeys(rawPrefix);
  }
}

const FANOUT_OPS = 3_000;
const GROUPS = ['billing', 'shipping', 'audit'] as const;
const Tick = defineEvent<{ n: number }>('bench.Tick');

async function fanOut(): Promise<BenchResult> {
  const syPrefix = `sy-bench-${randomUUID().slice(0, 8)}`;
  const rawPrefix = `sy-bench-raw-${randomUUID().slice(0, 8)}`;
  // Switchyard: one topic, three groups.
  let syHandled = 0;
  const subscribers = GROUPS.map((group) => {
    const router = new EventRouter();
    router.route(Tick).to((event) => {
      if (typeof event.payload.n === 'number') syHandled++;
    });
    const eventBus = new EventBus();
    eventBus.use(router);
    return new TopicSubscriber({
      topic: 'ticks',
      group,
      events: [Tick.name],
      prefix: syPrefix,
      connection: REDIS_URL,
      concurrency: CONCURRENCY,
      eventBus,
    });
  });
  const publisher = new TopicPublisher({ topic: 'ticks', prefix: syPrefix, connection: REDIS_URL });
  const router = new EventRouter();
  router.route(Tick).to(publisher);
  const sendBus = new EventBus();
  sendBus.use(router);
  // Raw BullMQ: the publisher adds each event to one queue per group.
  let rawHandled = 0;
  const queues = GROUPS.map(
    (group) => new Queue(group, { connection: { url: REDIS_URL }, prefix: rawPrefix }),
  );
  const workers = GROUPS.map(
    (group) =>
      new Worker(
        group,
        async (job: Job<{ n: number }>) => {
          if (typeof job.data.n === 'number') rawHandled++;
        },
        {
          connection: { url: REDIS_URL, maxRetriesPerRequest: null },
          prefix: rawPrefix,
          concurrency: CONCURRENCY,
        },
      ),
  );
  await Promise.all([
    ...subscribers.map((subscriber) => subscriber.start()),
    publisher.start(),
    ...workers.map((worker) => worker.waitUntilReady()),
    ...queues.map((queue) => queue.waitUntilReady()),
  ]);
  try {
    return await compareThroughput({
      name: 'bullmq: durable fan-out to 3 groups, published → handled by all',
      ops: FANOUT_OPS,
      subject: {
        name: 'switchyard bullmqTopic (Redis stream, 3 groups)',
        run: async (ops) => {
          const target = syHandled + ops * GROUPS.length;
          await Promise.all(Array.from({ length: ops }, (_, n) => sendBus.dispatch(Tick.create({ n }))));
          await untilCount(() => syHandled, target);
        },
      },
      baseline: {
        name: 'raw bullmq Queue.add to 3 queues, all in flight + 3 Workers',
        run: async (ops) => {
          const target = rawHandled + ops * GROUPS.length;
          await Promise.all(
            Array.from({ length: ops }, (_, n) =>
              Promise.all(queues.map((queue) => queue.add(Tick.name, { n }, JOB_OPTIONS))),
            ),
          );
          await untilCount(() => rawHandled, target);
        },
      },
    });
  } finally {
    await publisher.close();
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
    await Promise.all(workers.map((worker) => worker.close()));
    await Promise.all(queues.map((queue) => queue.close()));
    await deleteKeys(syPrefix);
    await deleteKeys(rawPrefix);
  }
}

export const scenario: BenchScenario = {
  id: 'bullmq',
  skip: redisUnavailable,
  run: async () => [...(await commands()), ...(await queries()), await fanOut()],
};
