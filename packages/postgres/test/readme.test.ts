import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, testPool } from './pg-test-kit.ts';

// The README is a contract: every TypeScript example in it runs as written against PG_URL.
const here = new URL('./', import.meta.url);
const dir = new URL('./readme-examples/', here);
const pool = testPool(1);
let hadDefaultSchema = true;

async function examples(): Promise<string[]> {
  const readme = await readFile(new URL('../README.md', here), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
  // Only the part-1 (queue) examples: the outbox section has tests of its own.
  return blocks.filter((code) => code.includes('import') && !code.includes('Outbox'));
}

beforeAll(async () => {
  await mkdir(dir, { recursive: true });
  const existing = await pool.query("SELECT 1 FROM pg_namespace WHERE nspname = 'switchyard'");
  hadDefaultSchema = existing.rowCount === 1;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  if (!hadDefaultSchema) await pool.query('DROP SCHEMA IF EXISTS switchyard CASCADE');
  await pool.end();
});

describe('README examples', () => {
  it('has the queue examples', async () => {
    expect((await examples()).length).toBeGreaterThanOrEqual(5);
  });

  it('runs every queue example as written', { timeout: 120_000 }, async () => {
    const codes = await examples();
    for (const [index, code] of codes.entries()) {
      const file = fileURLToPath(new URL(`example-${index}.ts`, dir));
      await writeFile(file, code);
      const output = await new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          ['--conditions=switchyard-source', file],
          { env: { ...process.env, DATABASE_URL: PG_URL }, timeout: 30_000 },
          (error, stdout, stderr) =>
            error
              ? reject(new Error(`README example ${index} failed: ${stderr || error.message}\n${code}`))
              : resolve(stdout),
        );
      });
      if (code.includes("GetUser.create({ userId: 'u1' })"))
        expect(output).toContain("email: 'ada@example.com'");
      if (code.includes("mode: 'tick'")) expect(output).toContain('handled 1');
    }
  });
});
