/**
 * Micro-check of the HTTP consumer's per-request cost in one process (not a bench): the request
 * listener of `HttpConsumer` against the plain `node:http` listener of bench/lib/plain-add-server.ts,
 * both driven with real `IncomingMessage`/`ServerResponse` objects on a fake socket that drops what
 * is written (no syscalls, no client, no load from the other process). 64 requests per batch, the
 * body pushed after the listener ran, as node's parser does. Prints ns per request, interleaved rounds.
 *
 *   NODE_ENV=production node --experimental-strip-types --conditions=switchyard-source bench/profile/remote-handler-micro.ts [rounds]
 *
 * For an A/B, copy the code before the change with `cp -r packages/http/src
 * bench/profile/remote-baseline/http` and run with IMPL=baseline (delete the copy afterwards).
 */
import { randomUUID } from 'node:crypto';
import { IncomingMessage, type RequestListener, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import { plainAddServer } from '../lib/plain-add-server.ts';
import { Add, rawEnvelope, receivingBuses } from '../lib/transport-fixtures.ts';

const { HttpConsumer } = (
  process.env.IMPL === 'baseline'
    ? await import(`${'./remote-baseline'}/http/index.ts`)
    : await import('@switchyard/http')
) as typeof import('@switchyard/http');

const receiver = receivingBuses();
const consumer = new HttpConsumer({ commandBus: receiver.commandBus, queryBus: receiver.queryBus });
const plain = plainAddServer().listeners('request')[0] as RequestListener;
let written = 0;
/** One fake socket per request in flight (a response owns its socket until it finished). */
const sockets = Array.from(
  { length: 64 },
  () =>
    new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        callback();
      },
    }),
);
const bodies = Array.from({ length: 1024 }, (_, i) =>
  Buffer.from(rawEnvelope('query', Add.name, { a: i, b: 1 }, randomUUID())),
);

function one(listener: RequestListener, body: Buffer, socket: Duplex): Promise<void> {
  const request = new IncomingMessage(socket as never);
  request.method = 'POST';
  request.url = '/';
  request.headers = {
    host: '127.0.0.1',
    'content-type': 'application/json',
    'content-length': String(body.length),
  };
  const response = new ServerResponse(request);
  response.shouldKeepAlive = true;
  response.assignSocket(socket as never);
  const done = new Promise<void>((resolve) => {
    response.on('finish', () => {
      response.detachSocket(socket as never);
      process.nextTick(() => response.emit('close'));
      resolve();
    });
  });
  listener(request, response);
  request.push(body);
  request.complete = true; // as node's parser does before the end of the body
  request.push(null);
  return done;
}

async function run(listener: RequestListener, batches: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  let k = 0;
  for (let b = 0; b < batches; b++) {
    const all: Promise<void>[] = [];
    for (let i = 0; i < 64; i++) all.push(one(listener, bodies[k++ & 1023]!, sockets[i]!));
    await Promise.all(all);
  }
  return Number(process.hrtime.bigint() - t0) / (batches * 64);
}

const rounds = Number(process.argv[2] ?? 9);
await run(consumer.handler, 500);
await run(plain, 500);
const results = { switchyard: [] as number[], plain: [] as number[] };
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? (['switchyard', 'plain'] as const) : (['plain', 'switchyard'] as const);
  for (const side of order) results[side].push(await run(side === 'plain' ? plain : consumer.handler, 500));
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
for (const [side, values] of Object.entries(results)) {
  console.log(
    `${side}: median ${median(values).toFixed(0)} ns/request (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)})`,
  );
}
if (written === 0) throw new Error('nothing written');
