import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_URL, testPool } from './pg-test-kit.ts';

// The README's Outbox section is a contract: each of its complete examples runs as written. They
// use the default schema, so they run in a database of their own (DATABASE_URL), dropped after.
const here = new URL('./', import.meta.url);
const dir = new URL('./outbox-readme-examples/', here);
const database = `switchyard_outbox_readme_${randomBytes(4).toString('hex')}`;
const databaseUrl = (() => {
  const url = new URL(PG_URL);
  url.pathname = `/${database}`;
  return url.toString();
})();
const pool = testPool(1);

async function examples(): Promise<string[]> {
  const readme = await readFile(new URL('../README.md', here), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Outbox\n'));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
  return blocks.filter((code) => code.includes('import '));
}

function run(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=switchyard-source', file],
      { env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 30_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${file}: ${stderr || error.message}`)) : resolve(stdout),
    );
  });
}

beforeAll(async () => {
  await mkdir(dir, { recursive: true });
  await pool.query(`CREATE DATABASE ${database}`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await pool.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
  await pool.end();
});

describe('README: Outbox', () => {
  it('runs the node-postgres, Kysely, createSwitchyard and dead-letter examples as written', {
    timeout: 120_000,
  }, async () => {
    const codes = await examples();
    expect(codes).toHaveLength(4);
    const outputs: string[] = [];
    for (const [index, code] of codes.entries()) {
      const file = fileURLToPath(new URL(`outbox-example-${index}.ts`, dir));
      await writeFile(file, code);
      outputs.push(await run(file));
    }
    // node-postgres: the committed registration is mailed, the rolled-back one is not.
    expect(outputs[0]).toMatch(/rolled back: card declined/);
    expect(outputs[0]).toMatch(/welcome mail to ada-\d+@example\.com/);
    expect(outputs[0]).not.toMatch(/grace/);
    // Kysely: the same.
    expect(outputs[1]).toMatch(/rolled back: owner is blocked/);
    expect(outputs[1]).toMatch(/account opened: acc-\d+/);
    expect(outputs[1]).not.toMatch(/acc-blocked/);
    // createSwitchyard: through the outbox, the relay and the inner transport to the handler.
    expect(outputs[2]).toMatch(/registered: ada@example\.com/);
  });
});
