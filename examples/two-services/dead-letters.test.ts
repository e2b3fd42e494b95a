import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@switchyard/conformance';
import { handle, type Switchyard } from '@switchyard/core';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Push } from 'zeromq';
import { ArchiveUser, createApp, ImportUser, RegisterUser } from './dead-letters-app.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const cli = join(here, '../../packages/core/src/cli/main.ts');
const node = [
  '--experimental-strip-types',
  '--no-warnings=ExperimentalWarning',
  '--conditions=switchyard-source',
];
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `sy-test-dead-letters-${randomUUID().slice(0, 8)}`;
let env: NodeJS.ProcessEnv;
let app: Switchyard;
let broken = true;
const handled: string[] = [];

/** A handler that fails until the test "fixes" it. */
function flaky(what: string) {
  return (command: { payload: { userId: string } }) => {
    if (broken) throw new Error(`${what} ${command.payload.userId} failed: the directory is down`);
    handled.push(`${what} ${command.payload.userId}`);
  };
}

/** Runs the `switchyard` command line as a user would, in its own process. */
function switchyard(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...node, cli, ...args],
      { cwd: here, env: { ...env, SWITCHYARD_APP: 'dead-letters-app.ts' }, timeout: 30_000 },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code ?? -1), stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  env = {
    ...process.env,
    HTTP_PORT: String(await freePort()),
    ZMQ_PORT: String(await freePort()),
    QUEUE_PREFIX: prefix,
    REDIS_URL: redisUrl,
  };
  Object.assign(process.env, { HTTP_PORT: env.HTTP_PORT, ZMQ_PORT: env.ZMQ_PORT, QUEUE_PREFIX: prefix });
  app = createApp([
    handle(RegisterUser, flaky('register')),
    handle(ImportUser, flaky('import')),
    handle(ArchiveUser, flaky('archive')),
  ]);
  await app.start();
});

afterAll(async () => {
  await app?.close();
  const redis = new Redis(redisUrl);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.unlink(...keys);
  redis.disconnect();
});

describe('dead letters everywhere: HTTP and ZeroMQ hand theirs to a BullMQ sink', () => {
  const register = RegisterUser.create({ userId: 'u1' });
  const importing = ImportUser.create({ userId: 'u2' });
  const archive = ArchiveUser.create({ userId: 'u3' });

  it('keeps what failed for good with its error and origin, next to BullMQ’s own dead letters', async () => {
    // HTTP confirms handling: the sender sees the remote error too.
    await expect(app.commandBus.dispatch(register)).rejects.toThrow('register u1 failed');
    await app.commandBus.dispatch(importing); // ZeroMQ: fire and forget
    await app.commandBus.dispatch(archive); // BullMQ: one attempt, then its failed set
    await waitFor(async () => (await app.deadLetters.count()) === 3, 15_000, 'three dead letters');

    expect(app.deadLetters.transports).toEqual(['archive', 'dlq']);
    const letters = await app.deadLetters.list();
    const byName = Object.fromEntries(letters.map((letter) => [letter.name, letter]));
    expect(byName.RegisterUser).toMatchObject({
      transport: 'dlq',
      id: register.id,
      code: 'SWITCHYARD_HANDLER_FAILED',
      origin: { transport: 'users', kind: 'http', address: { url: `http://127.0.0.1:${env.HTTP_PORT}/` } },
      attempts: 1,
      message: { id: register.id, payload: { userId: 'u1' } },
    });
    expect(byName.RegisterUser!.error).toContain('register u1 failed: the directory is down');
    expect(byName.ImportUser).toMatchObject({
      transport: 'dlq',
      id: importing.id,
      origin: { transport: 'imports', kind: 'zeromq' },
      message: { id: importing.id },
    });
    expect(byName.ImportUser!.error).toContain('import u2 failed');
    expect(byName.ArchiveUser).toMatchObject({
      transport: 'archive',
      origin: { transport: 'archive', kind: 'bullmq' },
    });
    expect(byName.ArchiveUser!.error).toContain('archive u3 failed');
  });

  it('switchyard dead-letters list prints them, as a table and as JSON', async () => {
    const table = await switchyard('dead-letters', 'list');
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TRANSPORT +ID +NAME +ORIGIN +ATTEMPTS +FAILED AT +ERROR$/);
    expect(lines).toHaveLength(4);
    expect(table.stdout).toMatch(
      new RegExp(
        `dlq +${register.id} +RegisterUser +users \\(http\\) +1 +\\S+Z +SWITCHYARD_HANDLER_FAILED: `,
      ),
    );
    expect(table.stdout).toMatch(new RegExp(`dlq +${importing.id} +ImportUser +imports \\(zeromq\\) +1 `));
    expect(table.stdout).toMatch(/archive +\S+ +ArchiveUser +archive \(bullmq\) +1 /);

    const json = await switchyard('dead-letters', 'list', '--transport', 'dlq', '--json');
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      id: string;
      origin: { kind: string };
      message: { payload: unknown };
    }[];
    expect(parsed.map((letter) => letter.id).sort()).toEqual([register.id, importing.id].sort());
    expect(parsed.find((letter) => letter.id === register.id)!.message.payload).toEqual({ userId: 'u1' });

    expect((await switchyard('dead-letters', 'count')).stdout).toBe('3\n');
  });

  it('switchyard routes prints the routing table', async () => {
    const routes = await switchyard('routes', '--app', 'dead-letters-app.ts');
    expect(routes.code).toBe(0);
    expect(routes.stdout).toBe(
      [
        'MESSAGE       KIND     TRANSPORT  ADAPTER  THIS PROCESS',
        'ArchiveUser   command  archive    bullmq   sends',
        'ImportUser    command  imports    zeromq   sends',
        'RegisterUser  command  users      http     sends',
        '',
        'dead letters go to: dlq',
        '',
      ].join('\n'),
    );
  });

  it('replays them after the fix: each goes back over its original route and is handled', async () => {
    broken = false;
    const one = await switchyard('dead-letters', 'replay', 'dlq', register.id);
    expect(one).toMatchObject({ code: 0, stdout: `replayed ${register.id} from dlq\n` });
    // HTTP confirms handling: the CLI returned after the handler ran.
    expect(handled).toContain('register u1');

    const rest = await switchyard('dead-letters', 'replay', '--all');
    expect(rest).toMatchObject({ code: 0, stdout: 'replayed 2 dead letter(s)\n' });
    await waitFor(() => handled.length === 3, 15_000, 'the replayed imports and archive handled');
    expect(handled.sort()).toEqual(['archive u3', 'import u2', 'register u1']);
    await waitFor(async () => (await app.deadLetters.count()) === 0, 10_000, 'no dead letters left');
    expect((await switchyard('dead-letters', 'list')).stdout).toBe(
      'no dead letters (kept on: archive, dlq)\n',
    );
  });

  it('a letter that fails again on replay is kept; purge deletes one or all', async () => {
    broken = true;
    const again = RegisterUser.create({ userId: 'u4' });
    const other = ImportUser.create({ userId: 'u5' });
    await app.commandBus.dispatch(again).catch(() => undefined);
    await app.commandBus.dispatch(other);
    await waitFor(async () => (await app.deadLetters.count('dlq')) === 2, 10_000, 'two letters');

    const failed = await switchyard('dead-letters', 'replay', 'dlq', again.id);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('register u4 failed');
    expect(await app.deadLetters.get('dlq', again.id)).toMatchObject({ name: 'RegisterUser' });

    const purgeOne = await switchyard('dead-letters', 'purge', 'dlq', again.id);
    expect(purgeOne).toMatchObject({ code: 0, stdout: 'purged 1 dead letter(s) from dlq\n' });
    const unsure = await switchyard('dead-letters', 'purge', 'dlq');
    expect(unsure.code).toBe(2);
    expect(unsure.stderr).toContain('add --yes');
    const purgeAll = await switchyard('dead-letters', 'purge', 'dlq', '--yes');
    expect(purgeAll).toMatchObject({ code: 0, stdout: 'purged 1 dead letter(s) from dlq\n' });
    expect(await app.deadLetters.count()).toBe(0);
  });

  it('keeps bytes that arrive over ZeroMQ and cannot be decoded, as switchyard.undecodable', async () => {
    const push = new Push();
    push.connect(`tcp://127.0.0.1:${env.ZMQ_PORT}`);
    try {
      await push.send('{"v":1,"this is":"not an envelope"');
      await waitFor(async () => (await app.deadLetters.count('dlq')) === 1, 10_000, 'the undecodable letter');
    } finally {
      push.close();
    }
    const [letter] = await app.deadLetters.list({ transport: 'dlq' });
    expect(letter).toMatchObject({
      name: 'switchyard.undecodable',
      code: 'SWITCHYARD_DECODE_ERROR',
      origin: { transport: 'imports', kind: 'zeromq' },
    });
    // Not a message, so not replayable: listed with the raw bytes (base64) for whoever investigates.
    expect(letter!.message).toBeUndefined();
    expect(String(letter!.envelope)).toContain(
      Buffer.from('{"v":1,"this is":"not an envelope"').toString('base64'),
    );
    expect(await app.deadLetters.purge('dlq', letter!.id)).toBe(1);
  });

  it('exits 1 with a message when something fails, 2 on a usage error', async () => {
    const missing = await switchyard('dead-letters', 'replay', 'dlq', 'no-such-id');
    expect(missing).toMatchObject({ code: 1, stderr: 'switchyard: no dead letter no-such-id on "dlq"\n' });
    const unknown = await switchyard('dead-letters', 'list', '--transport', 'users');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'No dead letters are kept on "users" (they are kept on: "archive", "dlq")',
    );
    const usage = await switchyard('dead-letters', 'frobnicate');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('unknown dead-letters command "frobnicate"');
    expect(usage.stderr).toContain('Usage: switchyard <command>');
    const noApp = await new Promise<number>((resolve) =>
      execFile(
        process.execPath,
        [...node, cli, 'routes'],
        { cwd: here, env: { ...env, SWITCHYARD_APP: '' } },
        (error) => resolve(Number(error?.code ?? 0)),
      ),
    );
    expect(noApp).toBe(2);
    const help = await switchyard('--help');
    expect(help).toMatchObject({ code: 0 });
    expect(help.stdout).toContain('dead-letters replay <transport> <id>');
  });
});
