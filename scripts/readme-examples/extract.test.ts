import { describe, expect, it } from 'vitest';
import { examplesOf, extractBlocks, packagesImported } from './extract.ts';

const fence = '```';

describe('extractBlocks', () => {
  it('classifies ts blocks by their first line and skips other languages', () => {
    const blocks = extractBlocks(
      [
        '# Title',
        `${fence}sh`,
        'pnpm add x',
        fence,
        `${fence}ts`,
        "import { a } from 'a';",
        fence,
        '## Section',
        `${fence}ts`,
        '// excerpt — assumes a bus',
        'bus.dispatch(x);',
        fence,
        `${fence}typescript`,
        '// app.ts — the sender',
        "import { a } from './lib.ts';",
        fence,
        `${fence}ts`,
        '// not run: needs a cluster',
        "import { b } from 'b';",
        fence,
        `${fence}ts`,
        'const fragment = 1;',
        fence,
      ].join('\n'),
    );
    expect(blocks.map(({ kind, line, section }) => ({ kind, line, section }))).toEqual([
      { kind: 'program', line: 6, section: 'Title' },
      { kind: 'excerpt', line: 10, section: 'Section' },
      { kind: 'file', line: 14, section: 'Section' },
      { kind: 'program', line: 18, section: 'Section' },
      { kind: 'unmarked', line: 22, section: 'Section' },
    ]);
    expect(blocks[2]!.fileName).toBe('app.ts');
    expect(blocks[3]!.notRun).toBe('needs a cluster');
    expect(blocks[0]!.code).toBe("import { a } from 'a';\n");
  });

  it('reads blocks indented in a list item, and ignores headings inside code', () => {
    const blocks = extractBlocks(
      [
        '## Real',
        '- item:',
        '',
        `  ${fence}ts`,
        '  # not a heading',
        '  queries.route(X);',
        `  ${fence}`,
      ].join('\n'),
    );
    expect(blocks).toEqual([
      { line: 5, section: 'Real', code: '# not a heading\nqueries.route(X);\n', kind: 'unmarked' },
    ]);
  });
});

describe('examplesOf', () => {
  const file = (name: string, code: string, section = 'S') => ({
    line: 1,
    section,
    code: `// ${name} — x\n${code}`,
    kind: 'file' as const,
    fileName: name,
  });

  it('groups the named files of a section; the files nobody imports run, in README order', () => {
    const [example] = examplesOf([
      file('config.ts', 'export const a = 1;'),
      file('worker.ts', "import { a } from './config.ts';"),
      file('app.ts', 'import { a } from "./config.ts";'),
    ]);
    expect([...example!.files.keys()]).toEqual(['config.ts', 'worker.ts', 'app.ts']);
    expect(example!.processes).toEqual(['worker.ts', 'app.ts']);
  });

  it('keeps sections apart and refuses a file named twice in one section', () => {
    expect(examplesOf([file('a.ts', ''), file('a.ts', '', 'T')])).toHaveLength(2);
    expect(() => examplesOf([file('a.ts', ''), file('a.ts', '')])).toThrow(/named twice/);
  });

  it('runs a program alone and leaves excerpts out', () => {
    const examples = examplesOf([
      { line: 3, section: 'S', code: "import 'a';\n", kind: 'program' },
      { line: 9, section: 'S', code: '// excerpt\n', kind: 'excerpt' },
    ]);
    expect(examples).toHaveLength(1);
    expect(examples[0]!.processes).toEqual(['example.ts']);
  });
});

describe('packagesImported', () => {
  it('lists the npm packages of every file, not relative paths, subpaths or Node built-ins', () => {
    const files = new Map([
      [
        'a.ts',
        [
          "import pg from 'pg';",
          "import type { Kysely } from 'kysely';",
          "import { trace } from '@opentelemetry/api';",
          "import { x } from '@scope/name/sub/path';",
          "import { readFileSync } from 'node:fs';",
          "import { join } from 'path';",
          "import './side-effect.ts';",
          "export { y } from './b.ts';",
        ].join('\n'),
      ],
      ['b.ts', "export const y = 1;\nconst lazy = await import('lodash/fp');\nimport 'reflect-metadata';\n"],
    ]);
    const example = { line: 1, section: '', files, lines: new Map(), processes: ['a.ts'] };
    expect(packagesImported(example)).toEqual([
      '@opentelemetry/api',
      '@scope/name',
      'kysely',
      'lodash',
      'pg',
      'reflect-metadata',
    ]);
  });
});
