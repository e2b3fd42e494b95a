import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PG_URL } from './pg-test-kit.ts';

// examples/outbox/main.ts, the standalone outbox example, runs on PostgreSQL when it answers and on
// PGlite (embedded PostgreSQL) when it does not, saying which on its first line.
const example = fileURLToPath(new URL('../../../examples/outbox/main.ts', import.meta.url));

function run(databaseUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--conditions=switchyard-source', example],
      { env: { ...process.env, DATABASE_URL: databaseUrl }, timeout: 60_000 },
      (error, stdout, stderr) =>
        error ? reject(new Error(`${stderr || error.message}\n${stdout}`)) : resolve(stdout),
    );
  });
}

describe('examples/outbox', () => {
  it('runs on PostgreSQL: one user committed and mailed, two rolled back and never mailed', {
    timeout: 60_000,
  }, async () => {
    const output = await run(PG_URL);
    expect(output.split('\n')[0]).toMatch(/^database: PostgreSQL at /);
    expect(output).toContain('done: users ["ada@example.com"], mails ["ada@example.com"]');
  });

  it('runs on PGlite when no PostgreSQL answers, and says so', { timeout: 60_000 }, async () => {
    const output = await run('postgres://postgres@127.0.0.1:1/test');
    expect(output.split('\n')[0]).toMatch(
      /^database: PGlite, an embedded PostgreSQL \(no PostgreSQL answers/,
    );
    expect(output).toContain('done: users ["ada@example.com"], mails ["ada@example.com"]');
  });
});
