/**
 * The README check: every ```ts block of README.md, packages/*\/README.md and examples/*\/README.md
 * is an excerpt (marked), or a program that type-checks and runs as written. See CONTRIBUTING.md,
 * "README examples", for the conventions; extract.ts for how blocks are read.
 *
 * Usage: node --experimental-strip-types scripts/readme-examples/run.ts [--show-output] [README paths…]
 *
 * Each README's programs are written into a temporary folder inside the package whose README it is
 * (so `@switchyard/<pkg>` resolves by self-reference, and the package's dependencies resolve; the
 * root README's into examples/two-services, which depends on every adapter), type-checked together
 * with one `tsc` run (tsconfig.base.json + the `switchyard-source` condition), then run one at a
 * time with Node (30 s each, killed if it hangs, non-zero exit = failure). The folder is removed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Example, examplesOf, extractBlocks } from './extract.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** How long an example may run (README_EXAMPLES_TIMEOUT_MS: for this script's own tests). */
const runTimeoutMs = Number(process.env.README_EXAMPLES_TIMEOUT_MS ?? 30_000);
/** How long a long-running process (a worker) may take to print its first line. */
const readyTimeoutMs = 10_000;
/** How long a long-running process may take to exit after SIGTERM. */
const stopTimeoutMs = 15_000;
/** `--show-output`: print what each passing example printed too (to compare with the README's comments). */
const showOutput = process.argv.includes('--show-output');
const nodeArgs = [
  '--experimental-strip-types',
  '--conditions=switchyard-source',
  '--no-warnings=ExperimentalWarning',
];

interface Result {
  readonly where: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly detail?: string;
}

const results: Result[] = [];
const tempDirs = new Set<string>();
const children = new Set<ChildProcess>();

function cleanUp(): void {
  for (const child of children) killGroup(child, 'SIGKILL');
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(130);
  });
}

function readmes(): string[] {
  const found = ['README.md'];
  for (const parent of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, parent)).sort()) {
      if (existsSync(join(root, parent, name, 'README.md'))) found.push(`${parent}/${name}/README.md`);
    }
  }
  return found;
}

/** Where a README's examples run: its package, or examples/two-services for the root README. */
function homeOf(readme: string): string {
  return readme === 'README.md' ? join(root, 'examples', 'two-services') : join(root, dirname(readme));
}

function label(readme: string, example: Example): string {
  const names =
    example.files.size === 1 && example.files.has('example.ts')
      ? ''
      : ` (${[...example.files.keys()].join(' + ')})`;
  return `${readme}:${example.line}${names}`;
}

async function checkReadme(readme: string): Promise<void> {
  const blocks = extractBlocks(readFileSync(join(root, readme), 'utf8'));
  for (const block of blocks) {
    if (block.kind === 'unmarked') {
      record({
        where: `${readme}:${block.line}`,
        status: 'failed',
        detail:
          'a fragment that neither starts with `import`, nor names a file (`// name.ts — …`), nor is marked `// excerpt`',
      });
    }
  }
  const examples = examplesOf(blocks);
  if (examples.length === 0) return;

  const home = homeOf(readme);
  const dir = join(home, `.readme-examples-${process.pid}`);
  tempDirs.add(dir);
  rmSync(dir, { recursive: true, force: true });
  const folders = examples.map((example, index) => {
    const folder = join(dir, `example-${index + 1}-line-${example.line}`);
    mkdirSync(folder, { recursive: true });
    for (const [name, code] of example.files) writeFileSync(join(folder, name), code);
    return folder;
  });
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: relative(dir, join(root, 'tsconfig.base.json')),
      compilerOptions: { noEmit: true, customConditions: ['switchyard-source'] },
      include: ['**/*.ts'],
    }),
  );

  try {
    const typeErrors = await typecheck(dir, examples, folders);
    for (const [index, example] of examples.entries()) {
      const where = label(readme, example);
      const errors = typeErrors.get(index);
      if (example.notRun !== undefined) {
        record(
          errors === undefined
            ? { where, status: 'skipped', detail: `type-checked, not run: ${example.notRun}` }
            : { where, status: 'failed', detail: errors.join('\n') },
        );
        continue;
      }
      const started = performance.now();
      const failure = await run(example, folders[index]!);
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const details = [...(errors ?? []), ...(failure === undefined ? [] : [failure])];
      record(
        details.length === 0
          ? { where, status: 'passed', detail: `${seconds} s` }
          : { where, status: 'failed', detail: details.join('\n') },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

/** One `tsc` over every example of a README; type errors by example index, README line numbers. */
async function typecheck(dir: string, examples: readonly Example[], folders: readonly string[]) {
  const tsc = join(root, 'node_modules', '.bin', 'tsc');
  const { code, output } = await exec(
    tsc,
    ['-p', join(dir, 'tsconfig.json'), '--pretty', 'false'],
    root,
    120_000,
  );
  const byExample = new Map<number, string[]>();
  if (code === 0) return byExample;
  let located = false;
  let current: string[] | undefined; // the list the last error went to, for its continuation lines
  for (const line of output.split('\n')) {
    const match = /^(\S.*?)\((\d+),(\d+)\): (.*)$/.exec(line);
    if (match === null) {
      if (current !== undefined && /^\s+\S/.test(line)) current.push(`    ${line.trim()}`);
      continue;
    }
    located = true;
    current = undefined;
    const file = join(root, match[1]!);
    const index = folders.findIndex((folder) => file.startsWith(`${folder}/`));
    // An error in the packages' own sources is the typecheck step's to report, not the README's.
    if (index < 0) continue;
    const name = relative(folders[index]!, file);
    const readmeLine = examples[index]!.lines.get(name)! + Number(match[2]) - 1;
    const list = byExample.get(index) ?? [];
    list.push(`  type error, README line ${readmeLine} (${name}:${match[2]}:${match[3]}): ${match[4]}`);
    byExample.set(index, list);
    current = list;
  }
  if (!located) {
    // tsc failed without naming a file (e.g. a bad option): every example of this README fails.
    for (const index of examples.keys()) byExample.set(index, [`  tsc failed: ${output.trim()}`]);
  }
  return byExample;
}

/** Runs an example's processes; undefined when it passed, else what went wrong. */
async function run(example: Example, folder: string): Promise<string | undefined> {
  const background: { name: string; child: ChildProcess; output: () => string; exited: Promise<Exit> }[] = [];
  try {
    for (const name of example.processes.slice(0, -1)) {
      const { child, output, exited, firstOutput } = start(name, folder);
      background.push({ name, child, output, exited });
      const ready = await Promise.race([
        firstOutput.then(() => 'ready' as const),
        exited.then(() => 'exited' as const),
        delay(readyTimeoutMs).then(() => 'quiet' as const),
      ]);
      if (ready === 'exited')
        return `  ${name} (started first, to keep running) exited early:\n${indent(output())}`;
    }
    const last = example.processes.at(-1)!;
    const { child, output, exited } = start(last, folder);
    const exit = await Promise.race([exited, delay(runTimeoutMs).then(() => undefined)]);
    if (exit === undefined) {
      killGroup(child, 'SIGKILL');
      await exited;
      return `  ${last} did not exit within ${runTimeoutMs / 1000} s:\n${indent(output())}${backgroundOutput(background)}`;
    }
    if (exit.code !== 0) {
      return `  ${last} exited with ${describe(exit)}:\n${indent(output())}${backgroundOutput(background)}`;
    }
    for (const worker of background) {
      killGroup(worker.child, 'SIGTERM');
      const stopped = await Promise.race([worker.exited, delay(stopTimeoutMs).then(() => undefined)]);
      if (stopped === undefined) {
        killGroup(worker.child, 'SIGKILL');
        return `  ${worker.name} did not exit within ${stopTimeoutMs / 1000} s of SIGTERM:\n${indent(worker.output())}`;
      }
      if (stopped.code !== 0 && stopped.signal !== 'SIGTERM') {
        return `  ${worker.name} exited with ${describe(stopped)} on SIGTERM:\n${indent(worker.output())}`;
      }
    }
    if (showOutput) {
      for (const { name, output: text } of [...background, { name: last, output }]) {
        console.log(`  output of ${name}:\n${indent(text())}`);
      }
    }
    return undefined;
  } finally {
    for (const worker of background) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) {
        killGroup(worker.child, 'SIGKILL');
        await worker.exited;
      }
    }
  }
}

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

function start(file: string, cwd: string) {
  const child = spawn(process.execPath, [...nodeArgs, file], {
    cwd,
    detached: true, // its own process group, so a hung example is killed with whatever it started
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  let onFirst: () => void = () => {};
  const firstOutput = new Promise<void>((resolve) => {
    onFirst = resolve;
  });
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    onFirst();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, output: () => output, exited, firstOutput };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

function exec(command: string, args: string[], cwd: string, timeoutMs: number) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function backgroundOutput(background: readonly { name: string; output: () => string }[]): string {
  return background.map(({ name, output }) => `\n  output of ${name}:\n${indent(output())}`).join('');
}

function describe(exit: Exit): string {
  return exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
}

function indent(text: string): string {
  const lines = text.trimEnd().split('\n');
  const shown = lines.length > 40 ? [...lines.slice(0, 10), '…', ...lines.slice(-29)] : lines;
  return shown.map((line) => `    | ${line}`).join('\n');
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function record(result: Result): void {
  results.push(result);
  const tag = result.status === 'passed' ? 'ok  ' : result.status === 'skipped' ? 'skip' : 'FAIL';
  const detail =
    result.detail === undefined
      ? ''
      : result.status === 'failed'
        ? `\n${result.detail}`
        : ` (${result.detail})`;
  console.log(`${tag} ${result.where}${detail}`);
}

const started = performance.now();
const selected = process.argv.slice(2).filter((arg) => arg !== '--show-output');
try {
  for (const readme of selected.length > 0 ? selected : readmes()) {
    await checkReadme(readme);
  }
} finally {
  cleanUp();
}
const count = (status: Result['status']) => results.filter((result) => result.status === status).length;
const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.log(
  `readme-examples: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped (${seconds} s)`,
);
process.exitCode = count('failed') > 0 ? 1 : 0;
