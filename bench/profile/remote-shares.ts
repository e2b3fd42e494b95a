/**
 * Self-time shares of a `.cpuprofile` (from bench/profile/remote-client.ts with PROFILE set), by
 * owner — Switchyard (core, http, zeromq), undici, node:http and streams, zeromq.js, JSON, GC — and
 * the top functions. Usage:
 *
 *   node --experimental-strip-types bench/profile/remote-shares.ts <file.cpuprofile> [top=25] [ops]
 *
 * With `ops`, also prints µs of self time per op for each owner.
 */
import { type CallFrame, readProfile } from './cpu-profile.ts';

const [file, topArg = '25', opsArg] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: remote-shares.ts <file.cpuprofile> [top] [ops]');
const { byId, selfUs } = readProfile(file);
const ops = opsArg === undefined ? undefined : Number(opsArg);

function owner(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return '(program)';
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === 'parse' || functionName === 'stringify') return 'JSON (builtin)';
    return `native`;
  }
  if (url.includes('/packages/core/')) return 'switchyard core';
  if (url.includes('/packages/http/')) return 'switchyard http';
  if (url.includes('/packages/zeromq/')) return 'switchyard zeromq';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.includes('/undici/')) return 'undici';
  if (url.includes('/zeromq/')) return 'zeromq.js';
  if (url.startsWith('node:_http') || url.startsWith('node:http')) return 'node:http';
  if (url.includes('internal/streams') || url.startsWith('node:stream')) return 'node streams';
  if (url.startsWith('node:net') || url.includes('stream_base') || url.includes('internal/net'))
    return 'node:net';
  if (url.includes('internal/process/task_queues') || url.includes('internal/timers'))
    return 'node ticks/timers';
  if (url.startsWith('node:')) return `node other`;
  return url;
}

const owners = new Map<string, number>();
const functions = new Map<string, number>();
let total = 0;
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame;
  const who = owner(frame);
  owners.set(who, (owners.get(who) ?? 0) + us);
  const short = frame.url.replace(/^.*\/(packages|node_modules)\//, '').replace(/^file:\/\//, '');
  const key = `${frame.functionName || '(anonymous)'} ${short}:${frame.lineNumber + 1}`;
  functions.set(key, (functions.get(key) ?? 0) + us);
  total += us;
}
const idle = owners.get('(idle)') ?? 0;
const busy = total - idle;
console.log(
  `${file}: ${(total / 1e3).toFixed(0)} ms sampled, ${(busy / 1e3).toFixed(0)} ms busy; shares of busy time${ops === undefined ? '' : `, µs/op`}`,
);
for (const [who, us] of [...owners].sort((a, b) => b[1] - a[1])) {
  if (who === '(idle)') continue;
  const perOp = ops === undefined ? '' : `  ${(us / ops).toFixed(2).padStart(7)} µs/op`;
  console.log(`  ${who.padEnd(22)} ${((100 * us) / busy).toFixed(1).padStart(5)}%${perOp}`);
}
console.log('top functions (self):');
for (const [key, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg))) {
  if (key.startsWith('(idle)')) continue;
  console.log(`  ${((100 * us) / busy).toFixed(1).padStart(5)}%  ${key}`);
}
