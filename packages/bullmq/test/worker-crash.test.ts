import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startProcess } from '@switchyard/conformance';
import { CommandBus, CommandRouter, defineCommand } from '@switchyard/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { BullMQConsumer, BullMQProducer } from '../src/index.ts';
import { deleteKeys, REDIS_URL, sleep, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Work = defineCommand<{ n: number }>('Work');
const prefix = uniquePrefix('crash');
const queueName = 'crash';
const handledKey = `${prefix}:handled`;
const redis = new Redis(REDIS_URL);
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await deleteKeys(prefix);
  redis.disconnect();
});

async function startChildWorker(): Promise<ChildProcess> {
  const script = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));
  const started = await startProcess(script, {
    env: { REDIS_URL, PREFIX: prefix, QUEUE: queueName, HANDLED_KEY: handledKey },
  });
  return started.child;
}

describe('a worker process killed mid-stream', () => {
  it('loses no command: a second worker finishes all 2,000 (stalled jobs recovered)', {
    timeout: 90_000,
  }, async () => {
    child = await startChildWorker();
    const producer = new BullMQProducer({ queueName, prefix, connection: REDIS_URL });
    const router = new CommandRouter();
    router.route(Work).to(producer);
    const sender = new CommandBus();
    sender.use(router);
    const commands = Array.from({ length: 2_000 }, (_, n) => Work.create({ n }));
    await Promise.all(commands.map((command) => sender.dispatch(command)));
    await producer.close();

    await waitFor(async () => (await redis.scard(handledKey)) >= 200, 30_000, 'the child to be mid-stream');
    child.kill('SIGKILL');
    await new Promise((resolve) => child?.once('exit', resolve));
    const handledByChild = await redis.scard(handledKey);
    expect(handledByChild).toBeLessThan(2_000);

    const handledHere = new Set<string>();
    const workRouter = new CommandRouter();
    workRouter.route(Work).to(async (command) => {
      handledHere.add(command.id);
      await redis.sadd(handledKey, command.id);
    });
    const commandBus = new CommandBus();
    commandBus.use(workRouter);
    const second = new BullMQConsumer({
      queueName,
      prefix,
      connection: REDIS_URL,
      concurrency: 16,
      lockDuration: 1_000,
      stalledInterval: 500,
      commandBus,
    });
    try {
      await second.start();
      await waitFor(async () => (await redis.scard(handledKey)) >= 2_000, 60_000, 'all 2,000 commands');
      const handled = new Set(await redis.smembers(handledKey));
      expect(commands.every((command) => handled.has(command.id))).toBe(true);
      // Wait for the jobs the child held to be recovered and completed; none ends up failed.
      await waitFor(async () => (await jobCounts()).completed >= 2_000, 30_000, 'every job to complete');
      expect(handledHere.size).toBeGreaterThan(0);
      await sleep(200);
      const counts = await jobCounts();
      expect(counts.failed).toBe(0);
      expect(counts.wait + counts.active + counts.delayed).toBe(0);
    } finally {
      await second.close();
    }
  });
});

async function jobCounts(): Promise<{
  wait: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}> {
  const key = (state: string) => `${prefix}:${queueName}:${state}`;
  const [wait, active, delayed, failed, completed] = await Promise.all([
    redis.llen(key('wait')),
    redis.llen(key('active')),
    redis.zcard(key('delayed')),
    redis.zcard(key('failed')),
    redis.zcard(key('completed')),
  ]);
  return { wait, active, delayed, failed, completed };
}
