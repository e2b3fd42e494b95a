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
 *
 * Packed mode, for the packed-tarball smoke test (scripts/smoke-pack.sh):
 *
 *   run.ts --packed <app dir> [--tsc <path to tsc>]… [--show-output] [README paths…]
 *
 * writes every README's examples into <app dir>/readme-examples (an app outside the workspace with
 * the packed tarballs installed), type-checks all of them as one program per compiler (each `--tsc`,
 * two compilers at a time; by default the root's TypeScript 5.5, 5.9, 6 and 7) with
 * `packedCompilerOptions` — what a user's app would use, nothing from this repository — and runs
 * them there the same way, with plain `node` (no `switchyard-source` condition: the packages' dist).
 *
 *   run.ts --dependencies
 *
 * prints, as JSON, the npm packages (other than @switchyard/*) the README examples import, each with
 * the range the README's own package.json declares for it (plus its `@types/` package if declared
 * there): what the smoke app installs next to the tarballs. Fails for an import no package.json
 * declares.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Example, examplesOf, extractBlocks, packagesImported } from './extract.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** How long an example may run (README_EXAMPLES_TIMEOUT_MS: for this script's own tests). */
const runTimeoutMs = Number(process.env.README_EXAMPLES_TIMEOUT_MS ?? 30_000);
/** How long a long-running process (a worker) may take to print its first line. */
const readyTimeoutMs = 10_000;
/** How long a long-running process may take to exit after SIGTERM. */
const stopTimeoutMs = 15_000;
/** How long one `tsc` run may take. */
const typecheckTimeoutMs = 120_000;

const options = parseArgs(process.argv.slice(2));
/** `--show-output`: print what each passing example printed too (to compare with the README's comments). */
const showOutput = options.showOutput;
const nodeArgs = [
  '--experimental-strip-types',
  ...(options.packed === undefined ? ['--conditions=switchyard-source'] : []),
  '--no-warnings=ExperimentalWarning',
];
/**
 * The packed mode's tsconfig: a user's app run with Node's type stripping (strict, with the options
 * Node's TypeScript docs recommend that every supported TypeScript, 5.5 – 7, understands).
 * `skipLibCheck: false`, so that the installed @switchyard/* declarations are checked too (an error
 * there fails); errors in third-party declarations (e.g. pg-protocol's on TypeScript ≤ 5.6) are
 * printed as a note, not a failure: users have `skipLibCheck: true` (what `tsc --init` writes), which
 * hides them, and the examples' own diagnostics do not depend on it.
 */
const packedCompilerOptions = {
  target: 'es2022',
  lib: ['es2023'],
  module: 'nodenext',
  moduleResolution: 'nodenext',
  types: ['node'],
  strict: true,
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
  verbatimModuleSyntax: true,
  isolatedModules: true,
  allowImportingTsExtensions: true,
  skipLibCheck: false,
  noEmit: true,
};

interface Options {
  readonly showOutput: boolean;
  readonly dependencies: boolean;
  /** `--packed <app dir>`, absolute. */
  readonly packed?: string;
  /** `--tsc <path>`, each. */
  readonly compilers: readonly string[];
  readonly readmes: readonly string[];
}

function parseArgs(args: readonly string[]): Options {
  let packed: string | undefined;
  const compilers: string[] = [];
  const readmeArgs: string[] = [];
  for (let index = 0; index < args.length; index++) {
    const arg = args[index]!;
    if (arg === '--packed' || arg === '--tsc') {
      const value = args[++index];
      if (value === undefined) throw new Error(`${arg} needs a value`);
      if (arg === '--packed') packed = resolve(value);
      else compilers.push(resolve(value));
    } else if (arg !== '--show-output' && arg !== '--dependencies') {
      readmeArgs.push(arg);
    }
  }
  if (compilers.length > 0 && packed === undefined) throw new Error('--tsc needs --packed');
  return {
    showOutput: args.includes('--show-output'),
    dependencies: args.includes('--dependencies'),
    ...(packed === undefined ? {} : { packed }),
    compilers,
    readmes: readmeArgs,
  };
}

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

/** A README's examples; records a failure for each unmarked fragment. */
function examplesIn(readme: string): Example[] {
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
  return examplesOf(blocks);
}

function writeExample(example: Example, folder: string): string {
  mkdirSync(folder, { recursive: true });
  for (const [name, code] of example.files) writeFileSync(join(folder, name), code);
  return folder;
}

async function checkReadme(readme: string): Promise<void> {
  const examples = examplesIn(readme);
  if (examples.length === 0) return;

  const home = homeOf(readme);
  const dir = join(home, `.readme-examples-${process.pid}`);
  tempDirs.add(dir);
  rmSync(dir, { recursive: true, force: true });
  const folders = examples.map((example, index) =>
    writeExample(example, join(dir, `example-${index + 1}-line-${example.line}`)),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: relative(dir, join(root, 'tsconfig.base.json')),
      compilerOptions: { noEmit: true, customConditions: ['switchyard-source'] },
      include: ['**/*.ts'],
    }),
  );

  try {
    // An error in the packages' own sources is the typecheck step's to report, not the README's.
    const { byExample: typeErrors } = await typecheck(
      join(root, 'node_modules', '.bin', 'tsc'),
      dir,
      examples,
      folders,
    );
    for (const [index, example] of examples.entries()) {
      const errors = typeErrors.get(index)?.map((error) => `  ${error}`);
      await finish(label(readme, example), example, folders[index]!, errors);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

/** Records an example: type errors (indented lines) fail it; a `not run` one is skipped, others run. */
async function finish(
  where: string,
  example: Example,
  folder: string,
  errors: readonly string[] | undefined,
): Promise<void> {
  if (example.notRun !== undefined) {
    record(
      errors === undefined || errors.length === 0
        ? { where, status: 'skipped', detail: `type-checked, not run: ${example.notRun}` }
        : { where, status: 'failed', detail: errors.join('\n') },
    );
    return;
  }
  const started = performance.now();
  const failure = await run(example, folder);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const details = [...(errors ?? []), ...(failure === undefined ? [] : [failure])];
  record(
    details.length === 0
      ? { where, status: 'passed', detail: `${seconds} s` }
      : { where, status: 'failed', detail: details.join('\n') },
  );
}

/**
 * Packed mode: every README's examples in one folder of the app, one `tsc` program per compiler (two
 * compilers at a time), then each example run from there, one at a time.
 */
async function checkPacked(
  app: string,
  readmeList: readonly string[],
  tscs: readonly string[],
): Promise<void> {
  if (!existsSync(join(app, 'node_modules'))) throw new Error(`--packed ${app}: no node_modules there`);
  if (!relative(root, app).startsWith('..')) throw new Error(`--packed ${app} is inside the workspace`);
  const dir = join(app, 'readme-examples');
  tempDirs.add(dir);
  rmSync(dir, { recursive: true, force: true });
  const entries: { where: string; example: Example; folder: string }[] = [];
  for (const [number, readme] of readmeList.entries()) {
    for (const [index, example] of examplesIn(readme).entries()) {
      const folder = join(dir, `readme-${number + 1}`, `example-${index + 1}-line-${example.line}`);
      entries.push({ where: label(readme, example), example, folder: writeExample(example, folder) });
    }
  }
  if (entries.length === 0) return;
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions: packedCompilerOptions, include: ['**/*.ts'] }, null, 2),
  );
  const examples = entries.map(({ example }) => example);
  const folders = entries.map(({ folder }) => folder);

  const checks = await inPool(tscs, 2, async (tsc) => {
    const version = await versionOf(tsc);
    const started = performance.now();
    const errors = await typecheck(tsc, dir, examples, folders);
    return { version, errors, seconds: ((performance.now() - started) / 1000).toFixed(1) };
  });
  for (const { version, errors, seconds } of checks) {
    const failing = errors.byExample.size;
    console.log(
      `tsc ${version}: ${failing === 0 ? 'no type errors in the examples' : `type errors in ${failing} example(s)`} (${seconds} s)`,
    );
    if (errors.thirdParty.length > 0) {
      const files = new Set(errors.thirdParty.map((error) => error.replace(/:\d+:\d+: .*$/, '')));
      console.log(
        `  note: ${errors.thirdParty.length} error(s) in third-party declarations, hidden by skipLibCheck: true: ${[...files].join(', ')}`,
      );
    }
    if (errors.outside.length > 0) {
      record({
        where: `TypeScript ${version}`,
        status: 'failed',
        detail: errors.outside.map((error) => `  ${error}`).join('\n'),
      });
    }
  }
  try {
    for (const [index, { where, example, folder }] of entries.entries()) {
      // One line per distinct error, with the compilers that report it.
      const compilersOf = new Map<string, string[]>();
      for (const { version, errors } of checks) {
        for (const error of errors.byExample.get(index) ?? []) {
          compilersOf.set(error, [...(compilersOf.get(error) ?? []), version]);
        }
      }
      const errors = [...compilersOf].map(
        ([error, versions]) => `  [TypeScript ${versions.join(', ')}] ${error}`,
      );
      await finish(where, example, folder, errors);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  }
}

async function versionOf(tsc: string): Promise<string> {
  const { code, output } = await exec(tsc, ['--version'], root, 30_000);
  const version = /(\d+\.\d+\.\S+)/.exec(output)?.[1];
  if (code !== 0 || version === undefined) throw new Error(`${tsc} --version: ${output.trim()}`);
  return version;
}

/** `work` over every item, at most `size` at a time; results in the items' order. */
async function inPool<T, R>(items: readonly T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(size, items.length) }, worker));
  return results;
}

/**
 * One `tsc -p <dir>/tsconfig.json` over the examples written into `folders`: each type error (with
 * its continuation lines, README line numbers) by example index; `thirdParty`: errors in installed
 * packages' declarations other than @switchyard/*; `outside`: errors in other files, or the whole
 * output when tsc failed without naming a file (e.g. a bad option).
 */
async function typecheck(tsc: string, dir: string, examples: readonly Example[], folders: readonly string[]) {
  const { code, output } = await exec(
    tsc,
    ['-p', join(dir, 'tsconfig.json'), '--pretty', 'false'],
    dir,
    typecheckTimeoutMs,
  );
  const byExample = new Map<number, string[]>();
  const outside: string[] = [];
  const thirdParty: string[] = [];
  if (code === 0) return { byExample, outside, thirdParty };
  let located = false;
  let current: { list: string[]; at: number } | undefined; // the last error, for its continuation lines
  for (const line of output.split('\n')) {
    const match = /^(\S.*?)\((\d+),(\d+)\): (.*)$/.exec(line);
    if (match === null) {
      if (current !== undefined && /^\s+\S/.test(line)) {
        current.list[current.at] += `\n    ${line.trim()}`;
      }
      continue;
    }
    located = true;
    const file = resolve(dir, match[1]!);
    const index = folders.findIndex((folder) => file.startsWith(`${folder}/`));
    if (index < 0) {
      const ours = !file.includes('/node_modules/') || file.includes('/node_modules/@switchyard/');
      const list = ours ? outside : thirdParty;
      list.push(`${relative(dir, file)}:${match[2]}:${match[3]}: ${match[4]}`);
      current = { list, at: list.length - 1 };
      continue;
    }
    const name = relative(folders[index]!, file);
    const readmeLine = examples[index]!.lines.get(name)! + Number(match[2]) - 1;
    const list = byExample.get(index) ?? [];
    list.push(`type error, README line ${readmeLine} (${name}:${match[2]}:${match[3]}): ${match[4]}`);
    byExample.set(index, list);
    current = { list, at: list.length - 1 };
  }
  if (!located) {
    // tsc failed without naming a file (e.g. a bad option): every example fails.
    for (const index of examples.keys()) byExample.set(index, [`tsc failed: ${output.trim()}`]);
    if (code === null) outside.push(`tsc did not finish within ${typecheckTimeoutMs / 1000} s`);
  }
  return { byExample, outside, thirdParty };
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
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ code: -1, output: `${command}: ${error.message}` });
    });
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

/**
 * `--dependencies`: the npm packages the examples import, other than @switchyard/* (packed), with the
 * range the README's package.json declares (dependencies, then peer, then dev), and the matching
 * `@types/` package when declared there. Exits 1 for an import nothing declares.
 */
function printDependencies(readmeList: readonly string[]): void {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const readme of readmeList) {
    const manifestPath = join(homeOf(readme), 'package.json');
    const manifest = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) : {};
    const declared: Record<string, string> = {
      ...manifest.devDependencies,
      ...manifest.peerDependencies,
      ...manifest.dependencies,
    };
    for (const example of examplesOf(extractBlocks(readFileSync(join(root, readme), 'utf8')))) {
      for (const name of packagesImported(example)) {
        if (name.startsWith('@switchyard/')) continue;
        if (declared[name] === undefined) {
          missing.push(
            `${readme}:${example.line} imports ${name}, which ${relative(root, manifestPath)} does not declare`,
          );
          continue;
        }
        const types = `@types/${name.replace(/^@(.*)\/(.*)$/, '$1__$2')}`;
        for (const dependency of [name, types]) {
          const range = declared[dependency];
          if (range !== undefined && !range.startsWith('workspace:')) found[dependency] ??= range;
        }
      }
    }
  }
  if (missing.length > 0) {
    console.error(`readme-examples: add these to the package's devDependencies:\n${missing.join('\n')}`);
    process.exitCode = 1;
    return;
  }
  const sorted = Object.fromEntries(Object.entries(found).sort(([a], [b]) => a.localeCompare(b)));
  console.log(JSON.stringify(sorted));
}

const readmeList = options.readmes.length > 0 ? options.readmes : readmes();
if (options.dependencies) {
  printDependencies(readmeList);
} else {
  const started = performance.now();
  let compilers: string[] = [];
  try {
    if (options.packed === undefined) {
      for (const readme of readmeList) await checkReadme(readme);
    } else {
      compilers = [...options.compilers];
      if (compilers.length === 0) {
        compilers = ['typescript-5.5', 'typescript-5.9', 'typescript-6', 'typescript'].map((name) =>
          join(root, 'node_modules', name, 'bin', 'tsc'),
        );
      }
      await checkPacked(options.packed, readmeList, compilers);
    }
  } finally {
    cleanUp();
  }
  const count = (status: Result['status']) => results.filter((result) => result.status === status).length;
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  const mode = options.packed === undefined ? '' : ` (packed, ${compilers.length} compilers)`;
  console.log(
    `readme-examples${mode}: ${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped (${seconds} s)`,
  );
  process.exitCode = count('failed') > 0 ? 1 : 0;
}
