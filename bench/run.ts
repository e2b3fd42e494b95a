/**
 * `pnpm bench [filter…]`: runs every scenario in bench/scenarios (or those whose id contains a
 * filter), prints a table and writes bench/results/latest.json.
 */
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult, BenchScenario } from './lib/types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((arg) => arg !== '--');

const files = (await readdir(join(here, 'scenarios'))).filter((file) => file.endsWith('.ts')).sort();
const results: BenchResult[] = [];
const skipped: string[] = [];
for (const file of files) {
  const { scenario } = (await import(pathToFileURL(join(here, 'scenarios', file)).href)) as {
    scenario: BenchScenario;
  };
  if (filters.length > 0 && !filters.some((filter) => scenario.id.includes(filter))) continue;
  const reason = await scenario.skip?.();
  if (reason !== undefined) {
    skipped.push(`${scenario.id}: ${reason}`);
    console.log(`- skipped ${scenario.id}: ${reason}`);
    continue;
  }
  console.log(`- running ${scenario.id} …`);
  const rows = await scenario.run();
  results.push(...rows);
  for (const row of rows)
    console.log(
      `  ${row.name}: ${format(row.subject)} vs ${format(row.baseline)} → ${row.ratio.toFixed(2)}×`,
    );
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(3);
}

const nameWidth = Math.max(8, ...results.map((row) => row.name.length));
const baseWidth = Math.max(8, ...results.map((row) => row.baselineName.length));
const header = `${'scenario'.padEnd(nameWidth)}  ${'switchyard'.padStart(12)}  ${'baseline'.padStart(12)}  ${'vs'.padEnd(baseWidth)}  ratio`;
console.log(`\n${header}\n${'-'.repeat(header.length)}`);
for (const row of results) {
  console.log(
    `${row.name.padEnd(nameWidth)}  ${format(row.subject).padStart(12)}  ${format(row.baseline).padStart(12)}  ${row.baselineName.padEnd(baseWidth)}  ${row.ratio.toFixed(2)}×`,
  );
}
console.log(
  '\nratio > 1 means Switchyard is faster (higher ops/s or lower latency); medians of interleaved rounds.',
);
if (skipped.length > 0) console.log(`skipped: ${skipped.join('; ')}`);

await mkdir(join(here, 'results'), { recursive: true });
await writeFile(join(here, 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${join('bench', 'results', 'latest.json')}`);

// Every scenario closes what it opened: the process must end by itself. If a handle leaked, say
// which instead of hiding it behind process.exit().
const exitWatch = setTimeout(() => {
  const leaked = process.getActiveResourcesInfo().filter((name) => name !== 'Timeout');
  console.error(`bench: handles still open 10 s after the last scenario: ${leaked.join(', ') || '(timers)'}`);
  process.exitCode = 1;
  process.exit();
}, 10_000);
exitWatch.unref();
