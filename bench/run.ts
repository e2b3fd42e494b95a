/**
 * `pnpm bench [filter…]`: runs every scenario in bench/scenarios (or those whose id contains a
 * filter), prints a table and writes bench/results/latest.json.
 *
 * Each scenario runs in a fresh Node process of its own (this file again, told which scenario by
 * SWITCHYARD_BENCH_SCENARIO), with NODE_ENV=production unless NODE_ENV is set: a scenario measured
 * after others ran in the same process inherited their heap and their JIT feedback (the core rows
 * measured ~10% lower after the BullMQ scenario while Nest's did not move), so the rows depended on
 * the order of the files. Subject and baseline of a row still share their process.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchResult, BenchScenario } from './lib/types.ts';

const here = dirname(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2).filter((arg) => arg !== '--');
const CHILD_SCENARIO = process.env.SWITCHYARD_BENCH_SCENARIO;
const CHILD_OUTPUT = process.env.SWITCHYARD_BENCH_OUTPUT;

async function load(file: string): Promise<BenchScenario> {
  const module = (await import(pathToFileURL(join(here, 'scenarios', file)).href)) as {
    scenario: BenchScenario;
  };
  return module.scenario;
}

if (CHILD_SCENARIO !== undefined && CHILD_OUTPUT !== undefined) {
  // A child: run one scenario, hand its rows to the parent through a file.
  const rows = await (await load(CHILD_SCENARIO)).run();
  for (const row of rows)
    console.log(
      `  ${row.name}: ${format(row.subject)} vs ${format(row.baseline)} → ${row.ratio.toFixed(2)}×`,
    );
  await writeFile(CHILD_OUTPUT, JSON.stringify(rows));
  watchExit('the scenario');
} else {
  await runAll();
}

async function runAll(): Promise<void> {
  const files = (await readdir(join(here, 'scenarios'))).filter((file) => file.endsWith('.ts')).sort();
  const results: BenchResult[] = [];
  const skipped: string[] = [];
  const scratch = await mkdtemp(join(tmpdir(), 'switchyard-bench-'));
  const env = { ...process.env, NODE_ENV: process.env.NODE_ENV ?? 'production' };
  try {
    for (const file of files) {
      const scenario = await load(file);
      if (filters.length > 0 && !filters.some((filter) => scenario.id.includes(filter))) continue;
      const reason = await scenario.skip?.();
      if (reason !== undefined) {
        skipped.push(`${scenario.id}: ${reason}`);
        console.log(`- skipped ${scenario.id}: ${reason}`);
        continue;
      }
      console.log(`- running ${scenario.id} (own process, NODE_ENV=${env.NODE_ENV}) …`);
      const output = join(scratch, `${scenario.id}.json`);
      // Throws (and ends the run) when the scenario fails or leaks a handle: its output is inherited.
      execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
        stdio: 'inherit',
        env: { ...env, SWITCHYARD_BENCH_SCENARIO: file, SWITCHYARD_BENCH_OUTPUT: output },
      });
      results.push(...(JSON.parse(await readFile(output, 'utf8')) as BenchResult[]));
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  printTable(results, skipped);
  await mkdir(join(here, 'results'), { recursive: true });
  await writeFile(join(here, 'results', 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${join('bench', 'results', 'latest.json')}`);
  watchExit('the last scenario');
}

function format(value: number): string {
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(3);
}

function printTable(results: readonly BenchResult[], skipped: readonly string[]): void {
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
}

/**
 * Every scenario closes what it opened: the process must end by itself. If a handle leaked, say
 * which instead of hiding it behind process.exit().
 */
function watchExit(after: string): void {
  const exitWatch = setTimeout(() => {
    const leaked = process.getActiveResourcesInfo().filter((name) => name !== 'Timeout');
    console.error(`bench: handles still open 10 s after ${after}: ${leaked.join(', ') || '(timers)'}`);
    process.exitCode = 1;
    process.exit();
  }, 10_000);
  exitWatch.unref();
}
