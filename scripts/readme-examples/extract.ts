/**
 * Reads the fenced ```ts blocks of a README and sorts them into what the README check does with
 * them (the convention is in CONTRIBUTING.md, "README examples"):
 *
 * - `excerpt`: the first line is a `// excerpt` comment — not compiled, not run.
 * - `program`: starts with `import` — type-checked and run on its own.
 * - `file`: the first line names a file (`// config.ts — …`) — written side by side with the other
 *   named files of the same README section, type-checked together and run as one example.
 * - anything else is an `unmarked` fragment: a failure.
 *
 * A program whose first line is `// not run: <reason>` is type-checked but not run.
 */
import { isBuiltin } from 'node:module';

export type BlockKind = 'excerpt' | 'program' | 'file' | 'unmarked';

export interface Block {
  /** 1-based line of the block's first code line in the README. */
  readonly line: number;
  /** The heading the block appears under (`''` before the first heading). */
  readonly section: string;
  readonly code: string;
  readonly kind: BlockKind;
  /** For `file` blocks: the file name from the first line. */
  readonly fileName?: string;
  /** For programs marked `// not run: <reason>`: the reason. */
  readonly notRun?: string;
}

const fenceOpen = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;
const excerptMarker = /^\/\/\s*excerpt\b/i;
const notRunMarker = /^\/\/\s*not run:\s*(\S.*)$/i;
const fileMarker = /^\/\/\s*([\w][\w.-]*\.ts)(?:\s|$)/;

/** Every fenced `ts`/`typescript` block of `markdown`, classified. */
export function extractBlocks(markdown: string): Block[] {
  const lines = markdown.split('\n');
  const blocks: Block[] = [];
  let section = '';
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const open = fenceOpen.exec(line);
    if (open === null) {
      const heading = /^#{1,6}\s+(.*)$/.exec(line);
      if (heading !== null) section = heading[1]!.trim();
      continue;
    }
    const [, indent = '', fence = '', lang = ''] = open;
    const body: string[] = [];
    let end = index + 1;
    while (end < lines.length && !isFenceClose(lines[end]!, fence)) {
      const bodyLine = lines[end]!;
      body.push(bodyLine.startsWith(indent) ? bodyLine.slice(indent.length) : bodyLine.trimStart());
      end++;
    }
    if (lang === 'ts' || lang === 'typescript') {
      blocks.push(classify(`${body.join('\n')}\n`, index + 2, section));
    }
    index = end;
  }
  return blocks;
}

function isFenceClose(line: string, fence: string): boolean {
  const trimmed = line.trim();
  return trimmed.startsWith(fence) && /^[`~]+$/.test(trimmed);
}

function classify(code: string, line: number, section: string): Block {
  const first =
    code
      .split('\n')
      .find((text) => text.trim() !== '')
      ?.trim() ?? '';
  if (excerptMarker.test(first)) return { line, section, code, kind: 'excerpt' };
  const notRun = notRunMarker.exec(first);
  if (notRun !== null) return { line, section, code, kind: 'program', notRun: notRun[1]!.trim() };
  const file = fileMarker.exec(first);
  if (file !== null) return { line, section, code, kind: 'file', fileName: file[1]! };
  if (/^import\s/.test(first)) return { line, section, code, kind: 'program' };
  return { line, section, code, kind: 'unmarked' };
}

/** One thing the check compiles and runs: a program, or the named files of one README section. */
export interface Example {
  /** 1-based README line of its first block. */
  readonly line: number;
  readonly section: string;
  /** File name → source, in README order. */
  readonly files: ReadonlyMap<string, string>;
  /** README line of each file's block. */
  readonly lines: ReadonlyMap<string, number>;
  /**
   * The files to run, in README order: those no other file of the example imports. All but the
   * last are long-running processes (a service, a worker) started first; the last one is the run
   * that decides, and once it has exited the others get SIGTERM.
   */
  readonly processes: readonly string[];
  readonly notRun?: string;
}

/** Groups the blocks into examples; throws for a section that names one file twice. */
export function examplesOf(blocks: readonly Block[]): Example[] {
  const examples: Example[] = [];
  const bySection = new Map<
    string,
    { line: number; files: Map<string, string>; lines: Map<string, number> }
  >();
  for (const block of blocks) {
    if (block.kind === 'program') {
      const files = new Map([['example.ts', block.code]]);
      examples.push({
        line: block.line,
        section: block.section,
        files,
        lines: new Map([['example.ts', block.line]]),
        processes: ['example.ts'],
        ...(block.notRun === undefined ? {} : { notRun: block.notRun }),
      });
    } else if (block.kind === 'file') {
      let group = bySection.get(block.section);
      if (group === undefined) {
        group = { line: block.line, files: new Map(), lines: new Map() };
        bySection.set(block.section, group);
        examples.push({
          line: block.line,
          section: block.section,
          files: group.files,
          lines: group.lines,
          processes: [],
        });
      }
      if (group.files.has(block.fileName!)) {
        throw new Error(
          `line ${block.line}: "${block.fileName}" is named twice in section "${block.section}"`,
        );
      }
      group.files.set(block.fileName!, block.code);
      group.lines.set(block.fileName!, block.line);
    }
  }
  return examples.map((example) =>
    example.processes.length > 0 ? example : { ...example, processes: entryFiles(example.files) },
  );
}

/** The files that no other file of the group imports (`from './name.ts'`), in order. */
function entryFiles(files: ReadonlyMap<string, string>): string[] {
  const imported = new Set<string>();
  for (const code of files.values()) {
    for (const match of code.matchAll(/from\s+['"]\.\/([\w.-]+\.ts)['"]/g)) imported.add(match[1]!);
  }
  return [...files.keys()].filter((name) => !imported.has(name));
}

/**
 * The npm packages an example's files import (`import … from 'pg'`, `import 'x'`, `import('x')`,
 * `export … from 'x'`): package names, sorted, without relative paths and Node built-ins. A subpath
 * import counts as its package (`@scope/name/sub` → `@scope/name`).
 */
export function packagesImported(example: Example): string[] {
  const names = new Set<string>();
  for (const code of example.files.values()) {
    for (const match of code.matchAll(/(?:^|[^\w.$])(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/gm)) {
      const specifier = match[1]!;
      if (specifier.startsWith('.') || specifier.startsWith('/') || /^[a-z]+:/.test(specifier)) continue;
      const parts = specifier.split('/');
      const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
      if (!isBuiltin(name)) names.add(name);
    }
  }
  return [...names].sort();
}
