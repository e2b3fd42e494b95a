import { type ChildProcess, execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startProcess } from '@switchyard/conformance';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

const here = fileURLToPath(new URL('.', import.meta.url));
const node = ['--experimental-strip-types', '--conditions=switchyard-source'];
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `sy-test-two-services-${randomUUID().slice(0, 8)}`;
let service: ChildProcess | undefined;

afterAll(async () => {
  if (service !== undefined && service.exitCode === null) service.kill('SIGKILL');
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
});

/** The fenced `ts` blocks of the root README that start with `// <file>`. */
function readmeBlock(file: string): string | undefined {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const match of readme.matchAll(/```ts\n([\s\S]*?)```/g)) {
    if (match[1]!.startsWith(`// ${file} `)) return match[1];
  }
  return undefined;
}

describe("the root README's two-service example", () => {
  it('is these files, verbatim', () => {
    for (const file of ['config.ts', 'users-service.ts', 'web.ts']) {
      expect(readmeBlock(file), file).toBe(readFileSync(new URL(file, import.meta.url), 'utf8'));
    }
  });

  it('runs as two processes: RegisterUser over BullMQ, GetUser over HTTP with auth, CountUsers over ZeroMQ; SIGTERM closes the service', async () => {
    const env = {
      ...process.env,
      HTTP_PORT: String(await freePort()),
      ZMQ_PORT: String(await freePort()),
      ZMQ_QUERY_PORT: String(await freePort()),
      QUEUE_PREFIX: prefix,
      REDIS_URL: redisUrl,
    };
    const started = await startProcess(join(here, 'users-service.ts'), {
      env,
      nodeArgs: node,
      ready: 'serves',
      timeoutMs: 20_000,
    });
    service = started.child;
    expect(started.output()).toContain('users-service serves jobs, users, fast');

    const web = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        [...node, 'web.ts'],
        { cwd: here, env, timeout: 30_000 },
        (error, stdout, stderr) =>
          error ? reject(new Error(`${error.message}\n${stdout}${stderr}`)) : resolve(stdout),
      );
    });
    expect(web).toBe("{ userId: 'u1', email: 'ada@example.com' } 1 user(s)\n");
    expect(started.output()).toContain('welcome mail to ada@example.com');

    service.kill('SIGTERM');
    expect(await started.exited()).toBe(0);
  });
});
