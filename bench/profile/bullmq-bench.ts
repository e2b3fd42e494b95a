/**
 * `pnpm bench bullmq` without writing bench/results/latest.json (for repeated runs while other
 * engineers bench too): runs bench/scenarios/bullmq.ts as is, prints each row with the load average.
 *
 *   node --experimental-strip-types --conditions=switchyard-source bench/profile/bullmq-bench.ts
 */
import { loadavg } from 'node:os';
import { scenario } from '../scenarios/bullmq.ts';

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');
console.log(`load before: ${load()}`);
const rows = await scenario.run();
for (const row of rows) {
  const format = (value: number) => (value >= 100 ? Math.round(value) : value.toFixed(3));
  console.log(`${row.name}: ${format(row.subject)} vs ${format(row.baseline)} → ${row.ratio.toFixed(2)}×`);
}
console.log(`load after: ${load()}`);
