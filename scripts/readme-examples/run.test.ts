import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('fixtures', import.meta.url));

function check(...args: string[]) {
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(
      process.execPath,
      ['--experimental-strip-types', 'scripts/readme-examples/run.ts', ...args],
      { cwd: root, env: { ...process.env, README_EXAMPLES_TIMEOUT_MS: '3000' } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : (error.code as number), output: stdout + stderr }),
    );
  });
}

it('passes what runs, fails what does not, and leaves no file behind', async () => {
  const { code, output } = await check('scripts/readme-examples/fixtures/README.md');
  const at = (line: number) => output.split('\n').find((text) => text.includes(`README.md:${line}`)) ?? '';

  expect(code, output).toBe(1);
  expect(output).not.toMatch(/README\.md:6\b/); // the excerpt
  expect(at(11)).toMatch(/^FAIL/); // the unmarked fragment
  expect(at(17)).toMatch(/^ok/);
  expect(at(24)).toMatch(/^FAIL/);
  expect(output).toContain('about to fail');
  expect(at(31)).toMatch(/^FAIL/);
  expect(output).toMatch(/README line 33 \(example\.ts:3:7\): error TS2322/);
  expect(output).toMatch(
    /README line 34 \(example\.ts:4:14\): error TS2322.*\n +Types of parameters 'value' and 'value'/,
  );
  expect(at(38)).toMatch(/^skip .*not run: stands for a block/);
  expect(at(45)).toMatch(/^FAIL/);
  expect(output).toContain('did not exit within 3 s');
  expect(at(53)).toMatch(/^ok .*\(shared\.ts \+ worker\.ts \+ app\.ts\)/);
  expect(output).toMatch(/^readme-examples: 2 passed, 4 failed, 1 skipped/m);
  expect(readdirSync(fixtures)).toEqual(['README.md']);
});

const apps: string[] = [];
afterEach(() => {
  for (const app of apps.splice(0)) rmSync(app, { recursive: true, force: true });
});

it('packed mode: checks in an app outside the workspace, with each compiler, and runs there', async () => {
  // The smallest "app": a package.json and the @types/node the examples compile against.
  const app = mkdtempSync(join(tmpdir(), 'switchyard-readme-packed-'));
  apps.push(app);
  writeFileSync(join(app, 'package.json'), '{ "type": "module" }\n');
  mkdirSync(join(app, 'node_modules', '@types'), { recursive: true });
  symlinkSync(join(root, 'node_modules', '@types', 'node'), join(app, 'node_modules', '@types', 'node'));
  const tsc = (name: string) => join(root, 'node_modules', name, 'bin', 'tsc');

  const { code, output } = await check(
    '--packed',
    app,
    '--tsc',
    tsc('typescript-5.5'),
    '--tsc',
    tsc('typescript'),
    'scripts/readme-examples/fixtures/README.md',
  );
  const at = (line: number) => output.split('\n').find((text) => text.includes(`README.md:${line}`)) ?? '';

  expect(code, output).toBe(1);
  expect(output).toMatch(/^tsc 5\.5\.4: type errors in 1 example\(s\)/m);
  expect(output).toMatch(/^tsc 7\.\S+: type errors in 1 example\(s\)/m);
  expect(at(31)).toMatch(/^FAIL/);
  // Each error names the compilers that report it: here both.
  expect(output).toMatch(/\[TypeScript 5\.5\.4, 7\.\S+\] type error, README line 33 \(example\.ts:3:7\)/);
  expect(at(17)).toMatch(/^ok/);
  expect(at(38)).toMatch(/^skip .*not run: stands for a block/);
  expect(at(53)).toMatch(/^ok .*\(shared\.ts \+ worker\.ts \+ app\.ts\)/);
  expect(output).toMatch(/^readme-examples \(packed, 2 compilers\): 2 passed, 4 failed, 1 skipped/m);
  expect(readdirSync(app).sort()).toEqual(['node_modules', 'package.json']);
});
