import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Runs `pnpm demo` as a user does (same Node, same flags), with extra environment. */
function runDemo(env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--experimental-strip-types', '--conditions=switchyard-source', 'examples/demo/main.ts'],
      { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, output: stdout + stderr });
      },
    );
  });
}

describe('the demo', () => {
  it('runs every message over its configured transport; the service opens no producer', async () => {
    const { code, output } = await runDemo({});
    expect(code, output).toBe(0);
    expect(output).toContain('web  → GetUser over "http"');
    expect(output).toContain('web  ← {"userId":"u1","email":"ada@example.com"}');
    expect(output).toContain('web  ← 2 users');
    expect(output).toContain('users-service: none');
  });

  it('moves GetUser from HTTP to ZeroMQ with one environment variable, same code', async () => {
    const { code, output } = await runDemo({ SWITCHYARD_ROUTES: '{"GetUser":"zeromq"}' });
    expect(code, output).toBe(0);
    expect(output).toContain('web  → GetUser over "zeromq"');
    expect(output).toContain('web  ← {"userId":"u1","email":"ada@example.com"}');
    // HTTP carries nothing any more: neither side builds it.
    expect(output).toContain('users-service serves durable, zeromq; web sends over durable, zeromq');
    expect(output).toContain('Producers built — web: durable, zeromq; users-service: none');
  });

  it('refuses a route to a transport that does not exist, naming it', async () => {
    const { code, output } = await runDemo({ SWITCHYARD_ROUTES: '{"GetUser":"carrier-pigeon"}' });
    expect(code).not.toBe(0);
    expect(output).toContain('unknown transport "carrier-pigeon"');
  });
});
