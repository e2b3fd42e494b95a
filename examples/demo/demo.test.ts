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
  it('runs every message over its configured transport; the service opens no producer but the outbox', async () => {
    const { code, output } = await runDemo({});
    expect(code, output).toBe(0);
    expect(output).toContain('database: PostgreSQL at');
    expect(output).toContain('web  → GetUser over "http"');
    expect(output).toContain('web  ← {"userId":"u1","email":"ada@example.com"}');
    expect(output).toContain('web  ← 2 users');
    expect(output).toContain('users-service  committed user u1 and UserRegistered in one transaction');
    expect(output).toContain('users-service  UserRegistered u1 (in-memory)'); // relayed after the commit
    expect(output).toContain('Producers built — web: durable, http, zeromq; users-service: events');
  });

  it('prints the trace of one request across every hop: BullMQ, the outbox, the relay', async () => {
    const { code, output } = await runDemo({});
    expect(code, output).toBe(0);
    const tree = output.slice(output.indexOf('The trace of the first registration'));
    const order = [
      'POST /users  internal',
      '└─ dispatch RegisterUser  internal',
      '└─ send RegisterUser (bullmq)  producer',
      '└─ process RegisterUser (bullmq)  consumer',
      '└─ dispatch UserRegistered  internal',
      '└─ send UserRegistered (outbox)  producer',
      '└─ send UserRegistered (in-memory)  producer',
      '└─ process UserRegistered (in-memory)  consumer',
      '└─ dispatch SendWelcomeMail  internal',
    ];
    let at = 0;
    for (const line of order) {
      const found = tree.indexOf(line, at);
      expect(found, `${line}\n${tree}`).toBeGreaterThan(-1);
      at = found;
    }
  });

  it('moves GetUser from HTTP to ZeroMQ with one environment variable, same code', async () => {
    const { code, output } = await runDemo({ SWITCHYARD_ROUTES: '{"GetUser":"zeromq"}' });
    expect(code, output).toBe(0);
    expect(output).toContain('web  → GetUser over "zeromq"');
    expect(output).toContain('web  ← {"userId":"u1","email":"ada@example.com"}');
    // HTTP carries nothing any more: neither side builds it.
    expect(output).toContain(
      'users-service serves durable, zeromq, events; web sends over durable, zeromq, events',
    );
    expect(output).toContain('Producers built — web: durable, zeromq; users-service: events');
  });

  it('still runs with no PostgreSQL and no Redis: PGlite and the in-memory transport, and says so', async () => {
    const { code, output } = await runDemo({
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/test',
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    expect(code, output).toBe(0);
    expect(output).toContain('database: PGlite, an embedded PostgreSQL');
    expect(output).toContain('"durable" is the in-memory transport instead');
    expect(output).toContain('users-service  committed user u2 and UserRegistered in one transaction');
    expect(output).toContain('web  ← 2 users');
  });

  it('refuses a route to a transport that does not exist, naming it', async () => {
    const { code, output } = await runDemo({ SWITCHYARD_ROUTES: '{"GetUser":"carrier-pigeon"}' });
    expect(code).not.toBe(0);
    expect(output).toContain('unknown transport "carrier-pigeon"');
  });
});
