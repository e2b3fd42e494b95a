import { CommandBus, CommandRouter, defineCommand } from '@switchyard/core';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { BullMQConsumer, BullMQProducer, DeadLetters } from '../src/index.ts';
import { deleteKeys, REDIS_URL, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Charge = defineCommand<{ amount: number }>('Charge');
const prefix = uniquePrefix('dead-letters');
afterAll(() => deleteKeys(prefix));

describe('DeadLetters', () => {
  it('lists failed messages with their error, replays one or all, and purges', {
    timeout: 30_000,
  }, async () => {
    const queueName = 'charges';
    let broken = true;
    const charged: number[] = [];
    const router = new CommandRouter();
    router.route(Charge).to((command) => {
      if (broken) throw new Error('payment provider down');
      charged.push(command.payload.amount);
    });
    const commandBus = new CommandBus();
    commandBus.use(router);
    const consumer = new BullMQConsumer({
      queueName,
      prefix,
      connection: REDIS_URL,
      commandBus,
      concurrency: 4,
      onError: () => undefined, // every failure here is on purpose; DeadLetters is what is tested
    });
    const producer = new BullMQProducer({
      queueName,
      prefix,
      connection: REDIS_URL,
      attempts: 2,
      backoff: { type: 'fixed', delay: 20 },
    });
    const deadLetters = new DeadLetters({ queueName, prefix, connection: REDIS_URL });
    try {
      await consumer.start();
      const commands = [10, 20, 30, 40].map((amount) => Charge.create({ amount }));
      await Promise.all(commands.map((command) => producer.produce(command)));
      await waitFor(async () => (await deadLetters.count()) === 4, 10_000, 'four dead letters');

      const letters = await deadLetters.list();
      expect(letters).toHaveLength(4);
      for (const letter of letters) {
        expect(letter.name).toBe('Charge');
        expect(letter.attemptsMade).toBe(2);
        expect(letter.failedReason).toBe(
          'SWITCHYARD_HANDLER_FAILED: Dispatch of "Charge" failed in invoke-handler: payment provider down',
        );
        expect(letter.failedAt).toBeInstanceOf(Date);
      }
      expect(new Set(letters.map((letter) => letter.message?.id))).toEqual(
        new Set(commands.map((command) => command.id)),
      );
      expect(await deadLetters.list(1, 2)).toHaveLength(2);
      const first = commands[0]!;
      expect((await deadLetters.get(first.id))?.message?.payload).toEqual({ amount: 10 });

      broken = false;
      expect(await deadLetters.replay(first.id)).toBe(true);
      await waitFor(() => charged.length === 1, 10_000, 'the replayed charge');
      expect(charged).toEqual([10]);
      expect(await deadLetters.replay(first.id)).toBe(false); // no longer failed

      // One more fails for good, then is purged; the rest are replayed together.
      broken = true;
      const purged = commands[1]!;
      expect(await deadLetters.purge(purged.id)).toBe(1);
      broken = false;
      expect(await deadLetters.replayAll()).toBe(2);
      await waitFor(() => charged.length === 3, 10_000, 'the replayed charges');
      expect(charged.sort((a, b) => a - b)).toEqual([10, 30, 40]);
      expect(await deadLetters.count()).toBe(0);

      broken = true;
      await producer.produce(Charge.create({ amount: 50 }));
      await producer.produce(Charge.create({ amount: 60 }));
      await waitFor(async () => (await deadLetters.count()) === 2, 10_000, 'two new dead letters');
      expect(await deadLetters.purge()).toBe(2);
      expect(await deadLetters.list()).toEqual([]);
    } finally {
      await producer.close();
      await consumer.close();
      await deadLetters.close();
    }
  });

  it('get() never returns a job without its failedReason while the job moves to the failed set', {
    timeout: 30_000,
  }, async () => {
    const queueName = 'racing';
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const router = new CommandRouter();
    router.route(Charge).to(async () => {
      await gate;
      throw new Error('card declined');
    });
    const commandBus = new CommandBus();
    commandBus.use(router);
    const consumer = new BullMQConsumer({
      queueName,
      prefix,
      connection: REDIS_URL,
      commandBus,
      onError: () => undefined, // the failure is on purpose
    });
    const producer = new BullMQProducer({ queueName, prefix, connection: REDIS_URL, attempts: 1 });
    // Hold the race open: a job read by getJob() comes back only once it has failed, so a get()
    // that reads the job before it checks the state sees the job as it was before it failed.
    const queue = new Queue(queueName, { connection: { url: REDIS_URL }, prefix });
    const getJob = queue.getJob.bind(queue);
    queue.getJob = async (jobId: string) => {
      const job = await getJob(jobId);
      release();
      await waitFor(async () => (await queue.getJobState(jobId)) === 'failed', 10_000, 'the job to fail');
      return job;
    };
    const deadLetters = new DeadLetters({ queue });
    try {
      await consumer.start();
      const command = Charge.create({ amount: 1 });
      await producer.produce(command);
      const early = await deadLetters.get(command.id); // the job waits or runs: not a dead letter yet
      expect(early?.failedReason ?? 'not failed yet').not.toBe('');
      release();
      await waitFor(async () => (await deadLetters.get(command.id)) !== undefined, 10_000, 'the dead letter');
      const letter = await deadLetters.get(command.id);
      expect(letter?.failedReason).toBe(
        'SWITCHYARD_HANDLER_FAILED: Dispatch of "Charge" failed in invoke-handler: card declined',
      );
      expect(letter?.failedAt).toBeInstanceOf(Date);
    } finally {
      await producer.close();
      await consumer.close();
      await deadLetters.close();
      await queue.close();
    }
  });
});
