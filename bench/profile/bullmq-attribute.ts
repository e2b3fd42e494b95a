/**
 * Attributes the self time of a `node --cpu-prof` profile (from bench/profile/bullmq-workload.ts)
 * to Switchyard (core, bullmq adapter), BullMQ, ioredis, node internals, GC and idle. Builtins
 * without a script (JSON.parse, Promise machinery) count for the nearest caller that has one, so
 * BullMQ's JSON.parse of job data counts as BullMQ. Prints shares of busy time, µs per op when
 * given the op count, and the top functions.
 *
 *   node --experimental-strip-types bench/profile/bullmq-attribute.ts <file.cpuprofile> [ops] [top] [category]
 */
import { readProfile } from './cpu-profile.ts';

const [file, opsArg, topArg = '25', only] = process.argv.slice(2);
if (file === undefined) throw new Error('usage: bullmq-attribute.ts <file.cpuprofile> [ops] [top]');
const { profile, byId, selfUs } = readProfile(file);
const ops = opsArg === undefined ? undefined : Number(opsArg);

function category(url: string): string | undefined {
  if (url === '') return undefined;
  if (url.includes('/packages/core/')) return 'switchyard core';
  if (url.includes('/packages/bullmq/')) return 'switchyard bullmq';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.includes('/msgpackr')) return 'bullmq (msgpackr)';
  if (url.includes('/bullmq/')) return 'bullmq';
  if (/\/(ioredis|redis-parser|denque|cluster-key-slot|standard-as-callback|@ioredis)\//.test(url))
    return 'ioredis';
  if (url.startsWith('node:')) return 'node internals';
  return `other (${url.replace(/^.*node_modules\//, '').split('/')[0]})`;
}

const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
const special = new Map<string, string>([
  ['(garbage collector)', 'GC'],
  ['(idle)', 'idle'],
  ['(program)', 'program (native, unattributed)'],
  ['(root)', 'program (native, unattributed)'],
]);
const categoryOf = new Map<number, string>();
function categorize(id: number): string {
  const known = categoryOf.get(id);
  if (known !== undefined) return known;
  const node = byId.get(id)!;
  const name = node.callFrame.functionName;
  let result = special.get(name) ?? category(node.callFrame.url);
  if (result === undefined) {
    const up = parent.get(id);
    result = up === undefined ? 'program (native, unattributed)' : categorize(up);
  }
  categoryOf.set(id, result);
  return result;
}

/** For node internals: the nearest ancestor outside node (who asked for the write, the tick…). */
function caller(id: number): string {
  for (let up = parent.get(id); up !== undefined; up = parent.get(up)) {
    const cat = categorize(up);
    if (cat !== 'node internals' && cat !== 'program (native, unattributed)') return cat;
  }
  return 'event loop';
}

const totals = new Map<string, number>();
const functions = new Map<string, number>();
const internals = new Map<string, number>();
let busy = 0;
for (const [id, us] of selfUs) {
  const cat = categorize(id);
  totals.set(cat, (totals.get(cat) ?? 0) + us);
  if (cat !== 'idle') busy += us;
  if (cat === 'node internals') {
    const key = `  node internals under ${caller(id)}`;
    internals.set(key, (internals.get(key) ?? 0) + us);
  }
  const frame = byId.get(id)!.callFrame;
  const where = frame.url === '' ? `[${cat}]` : frame.url.replace(/^.*\/(node_modules|packages)\//, '');
  const key = `${frame.functionName || '(anonymous)'} ${where}:${frame.lineNumber + 1}`;
  if (cat !== 'idle' && (only === undefined || cat.includes(only)))
    functions.set(key, (functions.get(key) ?? 0) + us);
}
const row = (name: string, us: number) =>
  `${name.padEnd(34)} ${((100 * us) / busy).toFixed(1).padStart(5)}%${ops === undefined ? '' : `  ${(us / ops).toFixed(2).padStart(7)} µs/op`}`;
console.log(row('busy (all but idle)', busy));
for (const [name, us] of [...totals].sort((a, b) => b[1] - a[1]))
  if (name !== 'idle') console.log(row(name, us));
for (const [name, us] of [...internals].sort((a, b) => b[1] - a[1])) console.log(row(name, us));
console.log(`idle ${((totals.get('idle') ?? 0) / 1e3).toFixed(0)} ms`);
console.log('\ntop self time:');
for (const [name, us] of [...functions].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg)))
  console.log(row(name, us));
