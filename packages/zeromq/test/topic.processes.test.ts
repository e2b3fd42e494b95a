import { fileURLToPath } from 'node:url';
import { freePort, type StartedProcess, startProcess, waitFor } from '@switchyard/conformance';
import { afterEach, describe, expect, it } from 'vitest';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

/** The numbers a process printed after `prefix` ("got 12", "local 12"). */
function numbers(process: StartedProcess, prefix: string): number[] {
  const pattern = new RegExp(`^${prefix} (\\d+)$`, 'gm');
  return [...process.output().matchAll(pattern)].map((match) => Number(match[1]));
}

const started: StartedProcess[] = [];
afterEach(async () => {
  for (const child of started.splice(0)) {
    if (child.child.exitCode === null) child.child.kill('SIGKILL');
    await child.exited();
  }
});

async function start(name: string, env: Record<string, string>): Promise<StartedProcess> {
  const child = await startProcess(fixture(name), { env });
  started.push(child);
  return child;
}

/** Every number from `from` to `to`, both included. */
const span = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('ZeroMQ topic across processes', () => {
  it('two subscriber processes receive from a publisher process that knows neither; adding one changes nothing on it', async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    // Publishes Tick { n } every 10 ms; it is given no subscriber, now or later.
    const publisher = await start('topic-publisher.ts', { PORT: String(port) });

    const audit = await start('topic-subscriber.ts', { ENDPOINT: endpoint, GROUP: 'audit' });
    await waitFor(() => numbers(audit, 'got').length >= 20, 15_000, 'the first subscriber to receive');
    const mailer = await start('topic-subscriber.ts', { ENDPOINT: endpoint, GROUP: 'mailer' });
    await waitFor(() => numbers(mailer, 'got').length >= 20, 15_000, 'the second subscriber to receive');

    // The same publisher process all along, never restarted or told anything.
    expect(publisher.child.exitCode).toBeNull();
    const audited = numbers(audit, 'got');
    const mailed = numbers(mailer, 'got');
    // While connected, each gets every event, in order, once: no gaps, no duplicates.
    expect(audited).toEqual(span(audited[0]!, audited.at(-1)!));
    expect(mailed).toEqual(span(mailed[0]!, mailed.at(-1)!));
    // The second joined later: it has nothing from before it connected, and both got what followed.
    expect(mailed[0]!).toBeGreaterThan(audited[0]!);
    const common = span(mailed[0]!, Math.min(audited.at(-1)!, mailed.at(-1)!));
    expect(audited).toEqual(expect.arrayContaining(common));

    // One subscriber leaves: the other goes on receiving, the publisher does not notice.
    audit.child.kill('SIGTERM');
    expect(await audit.exited()).toBe(0);
    const before = numbers(mailer, 'got').at(-1)!;
    await waitFor(
      () => numbers(mailer, 'got').at(-1)! >= before + 20,
      15_000,
      'the second subscriber to go on',
    );
    expect(publisher.child.exitCode).toBeNull();

    // The publisher handles Tick too: its local listener ran at every publish.
    await waitFor(() => (numbers(publisher, 'local').at(-1) ?? -1) >= numbers(mailer, 'got').at(-1)!, 5_000);
    const local = numbers(publisher, 'local');
    expect(local).toEqual(span(0, local.at(-1)!));
  });
});
