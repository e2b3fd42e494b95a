import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type StartedProcess, startProcess } from '@switchyard/conformance';
import { createSwitchyard, defineCommand, handle } from '@switchyard/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { bullmqTransport } from '../src/index.ts';
import { deleteKeys, REDIS_URL, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Work = defineCommand<{ n: number }>('Work');
const prefix = uniquePrefix('sigterm');
const queueName = 'sigterm';
const handledKey = `${prefix}:handled`;
const redis = new Redis(REDIS_URL);
let child: ChildProcess | undefined;

afterAll(async () => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  await deleteKeys(prefix);
  redis.disconnect();
});

function startWorker(): Promise<StartedProcess> {
  const script = fileURLToPath(new URL('./fixtures/graceful-worker.ts', import.meta.url));
  return startProcess(script, {
    env: { REDIS_URL, PREFIX: prefix, QUEUE: queueName, HANDLED_KEY: handledKey },
  });
}

describe('SIGTERM with closeOnSignals', () => {
  it('closes the worker process within its bound and loses no BullMQ command', {
    timeout: 90_000,
  }, async () => {
    const started = await startWorker();
    child = started.child;
    // The web process: sends only, over the same named transport.
    const web = createSwitchyard({
      definitions: [Work],
      transports: { jobs: bullmqTransport({ queueName, prefix, connection: REDIS_URL }) },
      routes: { Work: 'jobs' },
    });
    const commands = Array.from({ length: 500 }, (_, n) => Work.create({ n }));
    await Promise.all(commands.map((command) => web.commandBus.dispatch(command)));
    await web.close();

    await waitFor(async () => (await redis.scard(handledKey)) >= 50, 30_000, 'the worker to be mid-stream');
    const signalledAt = Date.now();
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child?.once('exit', resolve));
    const tookMs = Date.now() - signalledAt;
    expect(code).toBe(0);
    expect(started.output()).toContain('closed after SIGTERM\n');
    expect(tookMs).toBeLessThan(5_000 + 2_000); // its bound, plus process exit
    const handledBeforeExit = await redis.scard(handledKey);
    expect(handledBeforeExit).toBeLessThan(500);

    // A second worker (this process) finishes the rest: nothing was lost at shutdown.
    const handledHere: string[] = [];
    const service = createSwitchyard({
      definitions: [Work],
      transports: {
        jobs: bullmqTransport({ queueName, prefix, connection: REDIS_URL, consumer: { concurrency: 16 } }),
      },
      routes: { Work: 'jobs' },
      handlers: [
        handle(Work, async (command) => {
          handledHere.push(command.id);
          await redis.sadd(handledKey, command.id);
        }),
      ],
    });
    try {
      await service.start();
      await waitFor(async () => (await redis.scard(handledKey)) >= 500, 60_000, 'all 500 commands');
      const handled = new Set(await redis.smembers(handledKey));
      expect(commands.every((command) => handled.has(command.id))).toBe(true);
      // A graceful close finishes (and acknowledges) what it took: the second worker redoes none.
      expect(handledHere.length).toBe(500 - handledBeforeExit);
    } finally {
      await service.close();
    }
  });
});
