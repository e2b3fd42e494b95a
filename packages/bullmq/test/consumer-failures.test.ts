import { CommandBus, CommandRouter, defineCommand, type ErrorContext, JsonCodec } from '@switchyard/core';
import { type Job, Queue } from 'bullmq';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BullMQConsumer, BullMQProducer, DeadLetters } from '../src/index.ts';
import { deleteKeys, REDIS_URL, sleep, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Flaky = defineCommand<{ text: string }>('Flaky', {
  schema: {
    '~standard': {
      version: 1,
      vendor: 'test',
      validate: (value: unknown) =>
        typeof (value as { text?: unknown } | null)?.text === 'string'
          ? { value: value as { text: string } }
          : { issues: [{ message: 'text must be a string', path: ['text'] }] },
    },
  },
});
const prefix = uniquePrefix('failures');
const closers: (() => Promise<void>)[] = [];
let run = 0;

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(() => deleteKeys(prefix));

async function pair(handler: (text: string) => void | Promise<void>, attempts = 3) {
  const queueName = `failures-${++run}`;
  const router = new CommandRouter();
  router.route(Flaky).to(async (command) => handler(command.payload.text));
  const commandBus = new CommandBus();
  commandBus.use(router);
  const errors: unknown[] = [];
  const contexts: ErrorContext[] = [];
  const consumer = new BullMQConsumer({
    queueName,
    prefix,
    connection: REDIS_URL,
    commandBus,
    definitions: [Flaky],
    onError: (error, context) => {
      errors.push(error);
      contexts.push(context);
    },
  });
  const producer = new BullMQProducer({
    queueName,
    prefix,
    connection: REDIS_URL,
    attempts,
    backoff: { type: 'fixed', delay: 50 },
  });
  const deadLetters = new DeadLetters({ queueName, prefix, connection: REDIS_URL });
  closers.push(
    () => consumer.close(),
    () => producer.close(),
    () => deadLetters.close(),
  );
  await consumer.start();
  return { queueName, consumer, producer, deadLetters, errors, contexts };
}

describe('BullMQ consumer failure handling', () => {
  it('retries a handler that fails twice, and the command lands once', async () => {
    let calls = 0;
    let landed = 0;
    const { producer, errors, contexts } = await pair(() => {
      calls++;
      if (calls <= 2) throw new Error(`transient failure ${calls}`);
      landed++;
    });
    const command = Flaky.create({ text: 'retry me' });
    await producer.produce(command);
    await waitFor(() => landed === 1, 10_000, 'the third attempt');
    await sleep(300); // a stray extra attempt would show here
    expect(calls).toBe(3);
    expect(landed).toBe(1);
    expect(errors).toHaveLength(2);
    for (const context of contexts) {
      expect(context.stage).toBe('receive');
      expect(context.messageId).toBe(command.id);
      expect((context.job as Job).id).toBe(command.id);
    }
    const job = await producer.queue.getJob(command.id);
    expect(await job?.getState()).toBe('completed');
    expect(job?.attemptsMade).toBe(3);
  });

  it('fails poison input at once (decode error, no retry) and keeps serving', async () => {
    const handled: string[] = [];
    const { queueName, producer, deadLetters, errors } = await pair((text) => {
      handled.push(text);
    }, 5);
    const raw = new Queue(queueName, { connection: { url: REDIS_URL }, prefix });
    closers.push(() => raw.close());
    await raw.add('Flaky', { envelope: '{"v":1,"id":' }, { attempts: 5 }); // truncated JSON
    await raw.add('Flaky', 'not an object at all', { attempts: 5 });
    await raw.add('Flaky', { envelope: JSON.stringify({ v: 2, id: 'x' }) }, { attempts: 5 });

    await waitFor(async () => (await deadLetters.count()) >= 3, 10_000, 'three failed jobs');
    const letters = await deadLetters.list();
    expect(letters).toHaveLength(3);
    for (const letter of letters) {
      expect(letter.failedReason).toMatch(/^SWITCHYARD_DECODE_ERROR: /);
      expect(letter.attemptsMade).toBe(1);
      expect(letter.message).toBeUndefined();
    }
    expect(errors).toHaveLength(3);

    await producer.produce(Flaky.create({ text: 'still serving' }));
    await waitFor(() => handled.length === 1, 10_000, 'the valid command after the poison');
    expect(handled).toEqual(['still serving']);
  });

  it('fails a payload that fails validation, or a message no bus handles, without retrying', async () => {
    const { producer, deadLetters } = await pair(() => undefined, 5);
    const invalid = Flaky.create({ text: 42 } as unknown as { text: string });
    const unknown = defineCommand<{ text: string }>('NobodyHandlesThis').create({ text: 'x' });
    await producer.produce(invalid);
    await producer.produce(unknown);
    await waitFor(async () => (await deadLetters.count()) >= 2, 10_000, 'two failed jobs');
    const byName = new Map((await deadLetters.list()).map((letter) => [letter.name, letter]));
    expect(byName.get('Flaky')?.failedReason).toMatch(/^SWITCHYARD_VALIDATION_ERROR: /);
    expect(byName.get('NobodyHandlesThis')?.failedReason).toMatch(/^SWITCHYARD_NO_HANDLER: /);
    expect(byName.get('Flaky')?.attemptsMade).toBe(1);
  });

  it('does not queue a re-sent message twice while its job is kept', async () => {
    const handled: string[] = [];
    const { producer } = await pair((text) => {
      handled.push(text);
    });
    const command = Flaky.create({ text: 'once' });
    await Promise.all([producer.produce(command), producer.produce(command)]);
    await producer.produce(command);
    await waitFor(() => handled.length >= 1, 10_000, 'the command');
    await producer.produce(command); // after completion, still kept: a no-op
    await sleep(300);
    expect(handled).toEqual(['once']);
  });

  it('accepts message ids BullMQ would refuse as job ids (integers, colons)', async () => {
    const handled: string[] = [];
    const { producer } = await pair((text) => {
      handled.push(text);
    });
    const codec = new JsonCodec();
    const base = Flaky.create({ text: 'base' });
    for (const id of ['12345', 'tenant:42:order', '%3A']) {
      await producer.produce(codec.decode(codec.encode({ ...base, id, payload: { text: id } })));
    }
    await waitFor(() => handled.length >= 3, 10_000, 'three commands');
    expect(handled.sort()).toEqual(['%3A', '12345', 'tenant:42:order']);
  });
});

describe('BullMQ consumer close', () => {
  it('lets an active job finish within closeTimeoutMs', async () => {
    const queueName = `close-${++run}`;
    let finished = 0;
    const router = new CommandRouter();
    router.route(Flaky).to(async () => {
      await sleep(300);
      finished++;
    });
    const commandBus = new CommandBus();
    commandBus.use(router);
    const consumer = new BullMQConsumer({ queueName, prefix, connection: REDIS_URL, commandBus });
    await consumer.start();
    const producer = new BullMQProducer({ queueName, prefix, connection: REDIS_URL });
    closers.push(() => producer.close());
    const command = Flaky.create({ text: 'slow' });
    await producer.produce(command);
    await waitFor(async () => (await producer.queue.getActiveCount()) === 1, 10_000, 'the job to start');
    await consumer.close();
    expect(finished).toBe(1);
    expect(await (await producer.queue.getJob(command.id))?.getState()).toBe('completed');
  });

  it('hands a job that outlives closeTimeoutMs back to the queue as stalled', async () => {
    const queueName = `close-${++run}`;
    const router = new CommandRouter();
    let release: () => void = () => undefined;
    router.route(Flaky).to(() => new Promise<void>((resolve) => (release = resolve)));
    const commandBus = new CommandBus();
    commandBus.use(router);
    const consumer = new BullMQConsumer({
      queueName,
      prefix,
      connection: REDIS_URL,
      commandBus,
      closeTimeoutMs: 200,
      lockDuration: 1_000,
      stalledInterval: 300, // the stalled check is shared per queue: every worker should use one value
    });
    await consumer.start();
    const producer = new BullMQProducer({ queueName, prefix, connection: REDIS_URL });
    closers.push(() => producer.close());
    const command = Flaky.create({ text: 'stuck' });
    await producer.produce(command);
    await waitFor(async () => (await producer.queue.getActiveCount()) === 1, 10_000, 'the job to start');
    const closed = await Promise.race([
      consumer.close().then(() => 'closed'),
      sleep(5_000).then(() => 'hung'),
    ]);
    expect(closed).toBe('closed');
    release(); // the abandoned handler finishes here, but the job is no longer this worker's
    await sleep(100);
    expect(await (await producer.queue.getJob(command.id))?.getState()).toBe('active');

    // Another worker picks the abandoned job up once its lock expires.
    let handled = 0;
    const rescueRouter = new CommandRouter();
    rescueRouter.route(Flaky).to(() => {
      handled++;
    });
    const rescueBus = new CommandBus();
    rescueBus.use(rescueRouter);
    const rescuer = new BullMQConsumer({
      queueName,
      prefix,
      connection: REDIS_URL,
      commandBus: rescueBus,
      stalledInterval: 300,
    });
    closers.push(() => rescuer.close());
    await rescuer.start();
    await waitFor(() => handled === 1, 15_000, 'the stalled job to be taken over');
  });
});
