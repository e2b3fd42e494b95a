import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('fixtures', import.meta.url));

it('passes what runs, fails what does not, and leaves no file behind', async () => {
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(
      process.execPath,
      [
        '--experimental-strip-types',
        'scripts/readme-examples/run.ts',
        'scripts/readme-examples/fixtures/README.md',
      ],
      { cwd: root, env: { ...process.env, README_EXAMPLES_TIMEOUT_MS: '3000' } },
      (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : (error.code as number), output: stdout + stderr }),
    );
  });
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
