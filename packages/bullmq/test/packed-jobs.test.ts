import {
  CommandBus,
  CommandRouter,
  DEAD_LETTER,
  defineCommand,
  defineQuery,
  type ErrorContext,
  QueryBus,
  QueryRouter,
  withMetadata,
} from '@switchyard/core';
import { type Job, Queue } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BullMQConsumer, BullMQProducer, DeadLetters } from '../src/index.ts';
import { WaitingJobs } from '../src/waiting-jobs.ts';
import { deleteKeys, REDIS_URL, sleep, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Work = defineCommand<{ n: number }>('Work');
const Double = defineQuery<{ n: number }, number>('Double');
const prefix = uniquePrefix('packed');
const closers: (() => Promise<void>)[] = [];
let run = 0;

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(() => deleteKeys(prefix));

/** A producer packing `messagesPerJob` messages per job, a consumer (started on demand) and a look at the queue. */
function packedPair(
  handler: (n: number) => void | Promise<void>,
  options: { messagesPerJob?: number; attempts?: number; concurrency?: number } = {},
) {
  const queueName = `packed-${++run}`;
  const errors: ErrorContext[] = [];
  const consumer = workConsumer(queueName, handler, options.concurrency ?? 4, errors);
  const producer = new BullMQProducer({
    queueName,
    prefix,
    connection: REDIS_URL,
    messagesPerJob: options.messagesPerJob ?? 10,
    attempts: options.attempts ?? 3,
    backoff: { type: 'fixed', delay: 50 },
  });
  const queue = new Queue(queueName, { connection: { url: REDIS_URL }, prefix });
  const deadLetters = new DeadLetters({ queueName, prefix, connection: REDIS_URL });
  closers.push(
    () => producer.close(),
    () => queue.close(),
    () => deadLetters.close(),
  );
  return { queueName, consumer, producer, queue, deadLetters, errors };
}

/** A consumer of `queueName` whose `Work` handler is `handler`; failures are pushed to `errors`. */
function workConsumer(
  queueName: string,
  handler: (n: number) => void | Promise<void>,
  concurrency: number,
  errors: ErrorContext[] = [],
): BullMQConsumer {
  const router = new CommandRouter();
  router.route(Work).to(async (command) => handler(command.payload.n));
  const commandBus = new CommandBus();
  commandBus.use(router);
  const consumer = new BullMQConsumer({
    queueName,
    prefix,
    connection: REDIS_URL,
    commandBus,
    concurrency,
    onError: (_error, context) => errors.push(context),
  });
  closers.push(() => consumer.close());
  return consumer;
}

describe('BullMQ messagesPerJob: packs', () => {
  it('puts the messages of one tick into packs of messagesPerJob; each message is handled once', async () => {
    const handled: number[] = [];
    const { consumer, producer, queue } = packedPair((n) => void handled.push(n));
    await producer.start();
    const sends = Array.from({ length: 25 }, (_, n) => producer.produce(Work.create({ n })));
    // Per-message delivery options keep a job of their own (with the message id as job id).
    const own = Work.create({ n: 25 });
    sends.push(producer.produce(own, { delivery: { priority: 5 } }));
    await Promise.all(sends);

    const jobs = await queue.getJobs(['waiting', 'prioritized']);
    const packs = jobs.filter((job) => job.name === 'switchyard.pack');
    expect(packs.map((job) => (job.data as { pack: unknown[] }).pack.length).sort()).toEqual([10, 10, 5]);
    expect(jobs.filter((job) => job.name === 'Work').map((job) => job.id)).toEqual([own.id]);

    await consumer.start();
    await waitFor(() => handled.length === 26, 10_000, 'all 26 commands');
    await sleep(200); // a message handled twice would show here
    expect(handled.sort((a, b) => a - b)).toEqual(Array.from({ length: 26 }, (_, n) => n));
  });

  it('never packs a dead letter handed to it as a sink: WaitingJobs lists each by message id', async () => {
    const { queueName, producer, queue } = packedPair(() => undefined);
    await producer.start();
    const letter = { error: 'SWITCHYARD_HANDLER_FAILED: no', origin: { transport: 'http', kind: 'http' } };
    const failedAt = new Date().toISOString();
    const letters = Array.from({ length: 3 }, (_, n) =>
      withMetadata(Work.create({ n }), { [DEAD_LETTER]: { ...letter, failedAt, attempts: 1 } }),
    );
    const others = Array.from({ length: 3 }, (_, n) => Work.create({ n: 10 + n }));
    await Promise.all([...letters, ...others].map((message) => producer.produce(message)));

    const jobs = await queue.getJobs(['waiting']);
    expect(jobs.filter((job) => job.name === 'switchyard.pack')).toHaveLength(1);
    const waiting = new WaitingJobs({ queueName, prefix, connection: REDIS_URL });
    closers.push(() => waiting.close());
    for (const message of letters) expect((await waiting.get(message.id))?.message?.id).toBe(message.id);
    expect(await waiting.remove(letters[0]!.id)).toBe(1);
  });

  it('handles a pack one message after another: concurrency stays the number of handlers at once', async () => {
    let running = 0;
    let most = 0;
    const order: number[] = [];
    const { consumer, producer } = packedPair(
      async (n) => {
        running++;
        most = Math.max(most, running);
        await sleep(5);
        order.push(n);
        running--;
      },
      { concurrency: 1 },
    );
    await Promise.all([consumer.start(), producer.start()]);
    await Promise.all(Array.from({ length: 10 }, (_, n) => producer.produce(Work.create({ n }))));
    await waitFor(() => order.length === 10, 10_000, 'the pack');
    expect(most).toBe(1);
    expect(order).toEqual(Array.from({ length: 10 }, (_, n) => n)); // in dispatch order
  });

  it('close() finishes the message in hand and hands the rest of the pack back, in order', async () => {
    const handled: number[] = [];
    const slowly = async (n: number) => {
      await sleep(100);
      handled.push(n);
    };
    const { queueName, consumer, producer } = packedPair(slowly, { concurrency: 1 });
    await Promise.all([consumer.start(), producer.start()]);
    // Two packs: the consumer takes the first, the second waits behind it.
    await Promise.all(Array.from({ length: 20 }, (_, n) => producer.produce(Work.create({ n }))));
    await waitFor(() => handled.length === 1, 5_000, 'the first message');
    const closing = Date.now();
    await consumer.close();
    expect(Date.now() - closing).toBeLessThan(1_000); // one message, not the eight or nine left of its pack
    expect(handled.length).toBeLessThanOrEqual(2);

    // Another consumer of the queue gets the rest: each message once, in dispatch order (the rest
    // of the first pack went back ahead of the second).
    await workConsumer(queueName, (n) => void handled.push(n), 1).start();
    await waitFor(() => handled.length === 20, 10_000, 'the rest');
    await sleep(200); // a message handled twice would show here
    expect(handled).toEqual(Array.from({ length: 20 }, (_, n) => n));
  });

  it('moves a failing message to a job of its own with the attempts left; the others run once', async () => {
    const calls = new Map<number, number>();
    const { consumer, producer, deadLetters, errors } = packedPair((n) => {
      const call = (calls.get(n) ?? 0) + 1;
      calls.set(n, call);
      if (n === 2) throw new Error('always fails');
      if (n === 3 && call === 1) throw new Error('fails once');
    });
    await Promise.all([consumer.start(), producer.start()]);
    const commands = Array.from({ length: 5 }, (_, n) => Work.create({ n }));
    await Promise.all(commands.map((command) => producer.produce(command)));

    await waitFor(async () => (await deadLetters.count()) === 1, 10_000, 'the dead letter');
    await sleep(300); // an extra attempt would show here
    expect([...calls.entries()].sort(([a], [b]) => a - b)).toEqual([
      [0, 1],
      [1, 1],
      [2, 3], // attempts: 3 in all — one in the pack, two in its own job
      [3, 2],
      [4, 1],
    ]);
    const [dead] = await deadLetters.list();
    expect(dead?.jobId).toBe(commands[2]!.id);
    expect(dead?.name).toBe('Work');
    expect(dead?.failedReason).toMatch(/^SWITCHYARD_HANDLER_FAILED: /);
    expect(dead?.message?.id).toBe(commands[2]!.id);
    expect(errors.filter((context) => context.stage === 'receive')).toHaveLength(4);
  });

  it('keeps a message out of attempts as a dead letter without running it again; replay runs it', async () => {
    let failing = true;
    const calls: number[] = [];
    const { consumer, producer, deadLetters } = packedPair(
      (n) => {
        calls.push(n);
        if (n === 1 && failing) throw new Error('not yet');
      },
      { attempts: 1 },
    );
    await Promise.all([consumer.start(), producer.start()]);
    const commands = [Work.create({ n: 0 }), Work.create({ n: 1 })];
    await Promise.all(commands.map((command) => producer.produce(command)));
    await waitFor(async () => (await deadLetters.count()) === 1, 10_000, 'the dead letter');
    await sleep(300);
    expect(calls.sort()).toEqual([0, 1]); // the moved job failed at once, unrun

    failing = false;
    expect(await deadLetters.replay(commands[1]!.id)).toBe(true);
    await waitFor(() => calls.length === 3, 10_000, 'the replayed message');
    await waitFor(async () => (await deadLetters.count()) === 0, 10_000, 'no dead letter left');
    expect(calls[2]).toBe(1);
  });

  it('fails an undecodable member of a pack at once; the rest of the pack is handled', async () => {
    const handled: number[] = [];
    const { consumer, producer, queue, deadLetters, errors } = packedPair((n) => void handled.push(n));
    await producer.start();
    const good = Work.create({ n: 7 });
    await producer.produce(good); // one message: its own job — read its job data to build a pack
    const [own] = await queue.getJobs(['waiting']);
    await own!.remove();
    await queue.add('switchyard.pack', { pack: [{ envelope: '{not json' }, own!.data, 42] });
    await consumer.start();

    await waitFor(async () => (await deadLetters.count()) === 2, 10_000, 'two dead letters');
    expect(handled).toEqual([7]);
    const reasons = (await deadLetters.list()).map((dead) => dead.failedReason);
    expect(reasons.every((reason) => reason.startsWith('SWITCHYARD_DECODE_ERROR'))).toBe(true);
    expect(errors.filter((context) => context.stage === 'receive')).toHaveLength(2);
  });

  it('answers packed queries, each its own reply', async () => {
    const queueName = `packed-${++run}`;
    const router = new QueryRouter();
    router.route(Double).to(async (query) => query.payload.n * 2);
    const queryBus = new QueryBus();
    queryBus.use(router);
    const consumer = new BullMQConsumer({
      queueName,
      prefix,
      connection: REDIS_URL,
      queryBus,
      concurrency: 2,
    });
    const producer = new BullMQProducer({ queueName, prefix, connection: REDIS_URL, messagesPerJob: 20 });
    closers.push(
      () => consumer.close(),
      () => producer.close(),
    );
    await Promise.all([consumer.start(), producer.start()]);
    const jobNames: string[] = [];
    consumer.worker.on('completed', (job: Job) => void jobNames.push(job.name));
    const sendingRouter = new QueryRouter();
    sendingRouter.route(Double).to(producer);
    const sendingBus = new QueryBus();
    sendingBus.use(sendingRouter);

    const replies = await Promise.all(
      Array.from({ length: 40 }, (_, n) => sendingBus.dispatch(Double.create({ n }))),
    );
    expect(replies).toEqual(Array.from({ length: 40 }, (_, n) => n * 2));
    await waitFor(() => jobNames.length === 2, 5_000, 'two packs completed');
    expect(jobNames).toEqual(['switchyard.pack', 'switchyard.pack']);
  });

  it('refuses a messagesPerJob that is not a whole number ≥ 1', () => {
    expect(() => new BullMQProducer({ queueName: 'q', messagesPerJob: 0 })).toThrow(
      'BullMQProducer: messagesPerJob must be a whole number >= 1, got 0',
    );
  });
});
