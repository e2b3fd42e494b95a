import { fileURLToPath } from 'node:url';
import { startProcess } from '@switchyard/conformance';
import { describe, expect, it } from 'vitest';

describe('ZeroMQ topic close', () => {
  it('lets the process exit on its own once publisher and subscribers are closed', async () => {
    const script = fileURLToPath(new URL('./fixtures/topic-close-and-exit.ts', import.meta.url));
    const child = await startProcess(script, { ready: 'closed' });
    const exit = await Promise.race([
      child.exited(),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000)),
    ]);
    if (typeof exit === 'string') child.child.kill('SIGKILL');
    expect(exit).toBe(0);
  });
});
