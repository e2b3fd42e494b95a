/**
 * The serving process of bench/profile/remote-client.ts (not a bench: a harness for profiles and
 * CPU time per op). Serves one contender only — `zeromq`, `http` (Switchyard consumers) or `plain`
 * (a hand-written node:http server, as bench/lib/remote-server.ts) — so its profile holds nothing
 * else. Reports its CPU time (process.cpuUsage) when the client asks, then exits (so `--cpu-prof`
 * writes the profile).
 */

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { AddressInfo } from 'node:net';
import { plainAddServer } from '../lib/plain-add-server.ts';
import { receivingBuses } from '../lib/transport-fixtures.ts';

// IMPL=baseline: copies of HEAD's packages/{http,zeromq}/src in bench/profile/remote-baseline/{http,zeromq}/
// (`git show HEAD:<file>`; delete them after), for A/B runs within one load window.
const baseline = process.env.IMPL === 'baseline';
const BASELINE = './remote-baseline'; // not a literal import: the copies exist only during an A/B run
const { HttpConsumer } = (
  baseline ? await import(`${BASELINE}/http/index.ts`) : await import('@switchyard/http')
) as typeof import('@switchyard/http');
const { ZeroMQConsumer } = (
  baseline ? await import(`${BASELINE}/zeromq/index.ts`) : await import('@switchyard/zeromq')
) as typeof import('@switchyard/zeromq');

const mode = process.argv[2] ?? 'zeromq';
const receiver = receivingBuses();
let close: () => Promise<void>;
let address: unknown;

if (mode === 'zeromq') {
  const zeromq = new ZeroMQConsumer({
    commandEndpoint: 'tcp://127.0.0.1:0',
    queryEndpoint: 'tcp://127.0.0.1:0',
    commandBus: receiver.commandBus,
    queryBus: receiver.queryBus,
  });
  address = await zeromq.start();
  close = () => zeromq.close();
} else if (mode === 'http') {
  const http = new HttpConsumer({ commandBus: receiver.commandBus, queryBus: receiver.queryBus });
  address = (await http.start()).url;
  close = () => http.close();
} else if (mode === 'plain' || mode === 'plain-marked') {
  const marked = mode === 'plain-marked';
  const plain = plainAddServer(marked);
  plain.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  address = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/`;
  close = async () => {
    plain.closeAllConnections();
    await new Promise<void>((resolve) => plain.close(() => resolve()));
  };
} else throw new Error(`unknown mode ${mode}: zeromq, http, plain or plain-marked`);

// PROFILE=<file prefix>: a CPU profile of the measured window only (mark → usage).
const profile = process.env.PROFILE;
const session = profile === undefined ? undefined : new Session();
session?.connect();
let mark = process.cpuUsage();
process.on('message', async (message: string) => {
  if (message === 'mark') {
    if (session !== undefined) {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 100 });
      await session.post('Profiler.start');
    }
    mark = process.cpuUsage();
    process.send!({ marked: true });
  } else if (message === 'usage') {
    const used = process.cpuUsage(mark);
    if (session !== undefined) {
      const { profile: data } = await session.post('Profiler.stop');
      writeFileSync(`${profile}-server.cpuprofile`, JSON.stringify(data));
    }
    process.send!({ usage: used });
  } else if (message === 'close') {
    void close().then(() => process.disconnect());
  }
});
process.send!({ ready: address });
