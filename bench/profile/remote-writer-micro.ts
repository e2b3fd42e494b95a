/**
 * Micro-check for the consumer's reply writes (not a bench): `SocketWriter.write(…).catch(…)` (HEAD's
 * reply path) against `SocketWriter.post(…)` on a fake socket, batches of 64 replies per tick as
 * under `pnpm bench remote`. Prints ns per reply for each, interleaved, several rounds.
 *
 *   node --experimental-strip-types --conditions=switchyard-source bench/profile/remote-writer-micro.ts
 */

import { joinBatch } from '../../packages/zeromq/src/batch-frames.ts';
import { SocketWriter } from '../../packages/zeromq/src/socket-writer.ts';

const socket = { sendTimeout: 0, send: () => Promise.resolve() };
const writer = new SocketWriter(socket, {
  maxQueued: Number.MAX_SAFE_INTEGER,
  sendTimeoutMs: 0,
  label: 'micro',
  coalesce: { maxCount: 256, maxBytes: 1 << 20, combine: (writes) => joinBatch(writes, true) },
});
const identity = Buffer.from('peer');
const correlation = Buffer.from('0b5e3c1e-8f47-4c1a-9d7e-2f6a1b3c4d5e');
const reply = '{"v":1,"inReplyTo":"0b5e3c1e-8f47-4c1a-9d7e-2f6a1b3c4d5e","ok":true,"result":{"sum":3}}';
let failures = 0;
const onFailure = () => {
  failures++;
};
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

async function run(kind: 'write' | 'post', batches: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let b = 0; b < batches; b++) {
    for (let i = 0; i < 64; i++) {
      if (kind === 'write')
        writer.write([identity, correlation, reply], undefined, true, 'k').catch(onFailure);
      else writer.post([identity, correlation, reply], 'k', onFailure, 'id');
    }
    await tick();
  }
  return Number(process.hrtime.bigint() - t0) / (batches * 64);
}
await run('write', 3_000);
await run('post', 3_000);
const results: Record<string, number[]> = { write: [], post: [] };
for (let round = 0; round < 7; round++) {
  for (const kind of round % 2 === 0 ? (['write', 'post'] as const) : (['post', 'write'] as const)) {
    results[kind]!.push(await run(kind, 3_000));
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
for (const [kind, values] of Object.entries(results)) {
  console.log(
    `${kind}: median ${median(values).toFixed(0)} ns/reply (min ${Math.min(...values).toFixed(0)})`,
  );
}
if (failures > 0) throw new Error(`${failures} failures`);
