import {
  CommandBus,
  CommandRouter,
  defineCommand,
  defineQuery,
  ErrorCode,
  type ErrorContext,
  isSwitchyardError,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import type { Job } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { BullMQConsumer, BullMQProducer, DeadLetters } from '../src/index.ts';
import { deleteKeys, REDIS_URL, sleep, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Busy = defineQuery<{ ms: number }, string>('Busy');
const Counted = defineQuery<Record<string, never>, string>('Counted');
const Charge = defineCommand<{ amount: number }>('Charge');
const prefix = uniquePrefix('deadlines');
afterAll(() => deleteKeys(prefix));

describe('deadlines over BullMQ', () => {
  it('never runs a query whose 500 ms deadline passed while the only worker slot was busy for 2 s', {
    timeout: 30_000,
  }, async () => {
    const queueName = 'busy-worker';
    let busyRuns = 0;
    let countedRuns = 0;
    let charged = 0;
    const finders = new QueryRouter();
    finders.route(Busy).to(async (query) => {
      busyRuns++;
      await sleep(query.payload.ms);
      return 'done';
    });
    finders.route(Counted).to(() => {
      countedRuns++;
      return 'ran';
    });
    const queryBus = new QueryBus();
    queryBus.use(finders);
    const handlers = new CommandRouter();
    handlers.route(Charge).to(() => {
      charged++;
    });
    const commandBus = new CommandBus();
    commandBus.use(handlers);
    const reported: { error: unknown; context: ErrorContext }[] = [];
    const consumer = new BullMQConsumer({
      queueName,
      prefix,
      connection: REDIS_URL,
      concurrency: 1,
      queryBus,
      commandBus,
      onError: (error, context) => reported.push({ error, context }),
    });
    const producer = new BullMQProducer({ queueName, prefix, connection: REDIS_URL });
    const queries = new QueryRouter();
    queries.route(Busy).to(producer);
    queries.route(Counted).to(producer);
    const sender = new QueryBus();
    sender.use(queries);
    const commands = new CommandRouter();
    commands.route(Charge).to(producer);
    const commandSender = new CommandBus();
    commandSender.use(commands);
    const deadLetters = new DeadLetters({ queueName, prefix, connection: REDIS_URL });
    try {
      await consumer.start();
      const busy = sender.dispatch(Busy.create({ ms: 2_000 }));
      await waitFor(() => busyRuns === 1, 10_000, 'the busy handler to start');
      const late = Counted.create({});
      const started = Date.now();
      const error = await sender.dispatch(late, { timeoutMs: 500 }).catch((reason: unknown) => reason);
      expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
      expect(Date.now() - started).toBeLessThan(1_500);
      // A command with a deadline waits behind the busy handler too.
      const charge = Charge.create({ amount: 5 });
      await commandSender.dispatch(charge, { timeoutMs: 300 }).catch(() => undefined);

      await expect(busy).resolves.toBe('done');
      // The query's job was removed when its caller timed out; the command is refused as expired.
      await waitFor(
        () => reported.filter((entry) => entry.context.failure === 'expired').length === 1,
        10_000,
        'the expired command to be refused',
      );
      await sleep(300); // the expired query would run now, if anything still held it
      expect(countedRuns).toBe(0);
      expect(charged).toBe(0);
      expect(await producer.queue.getJob(late.id)).toBeUndefined();
      for (const { error: refused, context } of reported) {
        expect(isSwitchyardError(refused, ErrorCode.DeadlineExceeded)).toBe(true);
        expect(context.stage).toBe('receive');
        expect(context.messageId).toBe(charge.id);
        expect((context.job as Job).id).toBe(context.messageId);
      }
      // Refused, reported and done with: no retry, no dead letter.
      expect(await deadLetters.count()).toBe(0);
      expect(await producer.queue.getDelayedCount()).toBe(0);
      expect(await (await producer.queue.getJob(charge.id))?.getState()).toBe('completed');

      // The next query with time to spare runs normally.
      await expect(sender.dispatch(Counted.create({}), { timeoutMs: 5_000 })).resolves.toBe('ran');
      expect(countedRuns).toBe(1);

      // A query aborted without any deadline while it waits behind a busy worker never runs either.
      const busyAgain = sender.dispatch(Busy.create({ ms: 1_000 }));
      await waitFor(() => busyRuns === 2, 10_000, 'the busy handler to start again');
      const controller = new AbortController();
      const abandoned = Counted.create({});
      const aborted = sender
        .dispatch(abandoned, { signal: controller.signal })
        .catch((reason: unknown) => reason);
      await sleep(100); // its job is in Redis now
      controller.abort();
      expect(isSwitchyardError(await aborted, ErrorCode.Aborted)).toBe(true);
      await expect(busyAgain).resolves.toBe('done');
      await sleep(300);
      expect(countedRuns).toBe(1);
      expect(await producer.queue.getJob(abandoned.id)).toBeUndefined();
    } finally {
      await producer.close();
      await consumer.close();
      await deadLetters.close();
    }
  });
});
