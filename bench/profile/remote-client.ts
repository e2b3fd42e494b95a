/**
 * Harness for attributing the cost of the two-process rows of `pnpm bench remote` (not a bench: no
 * interleaving with a baseline; quote `pnpm bench remote` for ratios). Same workload: `{ a, b }` →
 * `{ sum }` queries, 64 in flight, one forked server process (bench/profile/remote-server.ts).
 *
 *   node --experimental-strip-types --conditions=switchyard-source bench/profile/remote-client.ts <mode> [ops] [rounds]
 *
 * Modes: `zeromq` (ZeroMQProducer → ZeroMQConsumer), `http` (HttpProducer → HttpConsumer), `raw`
 * (undici `Pool.request` → plain node:http, the HTTP baseline), `dispatch` (undici `Pool.dispatch`
 * with a handler that buffers the body, as the HttpProducer reads answers, → plain node:http). Prints ops/s and CPU µs per op of each process
 * (process.cpuUsage: user + system), per round. PROFILE=<prefix> writes `<prefix>-client.cpuprofile`
 * and `<prefix>-server.cpuprofile` of the last round only (bench/profile/remote-shares.ts reads them).
 *
 * SERVER=zeromq|http|plain|plain-marked pairs a client with another server (`plain-marked` adds the
 * `x-switchyard-reply` header, so the HttpProducer can be measured against the plain server, and
 * `raw` against the HttpConsumer). CALLGRIND=<file> runs the server under
 * `valgrind --tool=callgrind` (instruction counts do not depend on the load of this shared machine:
 * run two op counts and divide the difference of the totals by the difference of the ops).
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { Add, rawEnvelope, sendingBuses } from '../lib/transport-fixtures.ts';

// IMPL=baseline: copies of HEAD's packages/{http,zeromq}/src in bench/profile/remote-baseline/{http,zeromq}/
// (`git show HEAD:<file>`; delete them after), for A/B runs within one load window.
const baseline = process.env.IMPL === 'baseline';
const BASELINE = './remote-baseline'; // not a literal import: the copies exist only during an A/B run
const { HttpProducer } = (
  baseline ? await import(`${BASELINE}/http/index.ts`) : await import('@switchyard/http')
) as typeof import('@switchyard/http');
const { ZeroMQProducer } = (
  baseline ? await import(`${BASELINE}/zeromq/index.ts`) : await import('@switchyard/zeromq')
) as typeof import('@switchyard/zeromq');

const [mode = 'zeromq', opsArg = '60000', roundsArg = '3'] = process.argv.slice(2);
const OPS = Number(opsArg);
const ROUNDS = Number(roundsArg);
const CONCURRENCY = 64;
const here = dirname(fileURLToPath(import.meta.url));
const profile = process.env.PROFILE;

const serverMode = process.env.SERVER ?? (mode === 'raw' || mode === 'dispatch' ? 'plain' : mode);
const serverScript = join(here, 'remote-server.ts');
const callgrind = process.env.CALLGRIND;
const child: ChildProcess =
  callgrind === undefined
    ? fork(serverScript, [serverMode], { stdio: 'inherit', env: { ...process.env } })
    : spawn(
        'valgrind',
        [
          '--tool=callgrind',
          `--callgrind-out-file=${callgrind}`,
          '--dump-instr=no',
          process.execPath,
          ...process.execArgv,
          serverScript,
          serverMode,
        ],
        { stdio: ['inherit', 'inherit', 'inherit', 'ipc'], env: { ...process.env } },
      );
function ask<T>(message: string, key: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (reply: Record<string, unknown>) => {
      if (key in reply) {
        child.off('message', on);
        resolve(reply[key] as T);
      }
    };
    child.on('message', on);
    if (message !== '') child.send(message);
  });
}
const address = await ask<unknown>('', 'ready');

let once: () => Promise<void>;
let close: () => Promise<void>;
let n = 0;
if (mode === 'zeromq') {
  const bound = address as { commands: string[]; queries: string[] };
  const producer = new ZeroMQProducer({ commandEndpoint: bound.commands, queryEndpoint: bound.queries });
  await producer.start();
  const { queryBus } = sendingBuses(producer);
  once = async () => {
    const a = n++;
    if ((await queryBus.dispatch(Add.create({ a, b: 1 }))).sum !== a + 1) throw new Error('wrong reply');
  };
  close = () => producer.close();
} else if (mode === 'http') {
  const producer = new HttpProducer({ url: address as string, connections: 16 });
  const { queryBus } = sendingBuses(producer);
  once = async () => {
    const a = n++;
    if ((await queryBus.dispatch(Add.create({ a, b: 1 }))).sum !== a + 1) throw new Error('wrong reply');
  };
  close = () => producer.close();
} else if (mode === 'raw') {
  const pool = new Pool(new URL(address as string).origin, { connections: 16 });
  const headers = { 'content-type': 'application/json' };
  once = async () => {
    const a = n++;
    const response = await pool.request({
      path: '/',
      method: 'POST',
      headers,
      body: rawEnvelope('query', Add.name, { a, b: 1 }, randomUUID()),
    });
    const reply = JSON.parse(await response.body.text()) as { result: { sum: number } };
    if (reply.result.sum !== a + 1) throw new Error('wrong reply');
  };
  close = () => pool.close();
} else if (mode === 'dispatch') {
  const pool = new Pool(new URL(address as string).origin, { connections: 16 });
  const headers = { 'content-type': 'application/json' };
  const post = (body: string) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = [];
      pool.dispatch({ path: '/', method: 'POST', headers, body }, {
        onRequestStart() {},
        onResponseStart() {},
        onResponseData(_c: unknown, chunk: Buffer) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          resolve(chunks.length === 1 ? chunks[0]!.toString() : Buffer.concat(chunks).toString());
        },
        onResponseError(_c: unknown, error: Error) {
          reject(error);
        },
      } as never);
    });
  once = async () => {
    const a = n++;
    const reply = JSON.parse(await post(rawEnvelope('query', Add.name, { a, b: 1 }, randomUUID()))) as {
      result: { sum: number };
    };
    if (reply.result.sum !== a + 1) throw new Error('wrong reply');
  };
  close = () => pool.close();
} else throw new Error(`unknown mode ${mode}: zeromq, http, raw or dispatch`);

async function run(ops: number): Promise<void> {
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < ops) {
      started++;
      await once();
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, lane));
}

await run(Math.max(CONCURRENCY, Math.floor(OPS / 5)));
const session = profile === undefined ? undefined : new Session();
session?.connect();
for (let round = 0; round < ROUNDS; round++) {
  const last = round === ROUNDS - 1;
  if (last && session !== undefined) {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  }
  // The server profiles (when PROFILE is set) every marked window; only the last file survives.
  await ask('mark', 'marked');
  const cpu = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await run(OPS);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const used = process.cpuUsage(cpu);
  const server = await ask<{ user: number; system: number }>('usage', 'usage');
  if (last && session !== undefined) {
    const { profile: data } = await session.post('Profiler.stop');
    writeFileSync(`${profile}-client.cpuprofile`, JSON.stringify(data));
  }
  const perOp = (u: { user: number; system: number }) => ((u.user + u.system) / OPS).toFixed(1);
  console.log(
    `${mode} round ${round + 1}: ${Math.round(OPS / seconds)} ops/s; CPU µs/op client ${perOp(used)} (user ${(used.user / OPS).toFixed(1)}), server ${perOp(server)} (user ${(server.user / OPS).toFixed(1)})`,
  );
}
session?.disconnect();
await close();
child.send('close');
await new Promise<void>((resolve) => child.once('exit', () => resolve()));
