import { describe, expect, it } from 'vitest';
import { BodyDeadlines } from './body-deadlines.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('BodyDeadlines', () => {
  it('times out the reads that were not cancelled, each no sooner than its deadline, in order', async () => {
    const deadlines = new BodyDeadlines(40);
    const fired: [string, number][] = [];
    const started = performance.now();
    deadlines.start(() => fired.push(['a', performance.now() - started]));
    const b = deadlines.start(() => fired.push(['b', performance.now() - started]));
    await sleep(15);
    deadlines.start(() => fired.push(['c', performance.now() - started]));
    b.cancel();
    expect(deadlines.pending).toBe(2);
    await sleep(120);
    expect(fired.map(([name]) => name)).toEqual(['a', 'c']);
    expect(fired[0]![1]).toBeGreaterThanOrEqual(39);
    expect(fired[1]![1]).toBeGreaterThanOrEqual(54);
    expect(deadlines.pending).toBe(0);
  });

  it('stays bounded by the reads in progress behind one slow read, and a cancel after the timeout does nothing', async () => {
    const deadlines = new BodyDeadlines(60);
    let slowFired = 0;
    const slow = deadlines.start(() => slowFired++);
    for (let i = 0; i < 10_000; i++) deadlines.start(() => expect.fail('cancelled')).cancel();
    expect(deadlines.pending).toBe(1);
    await sleep(100);
    expect(slowFired).toBe(1);
    slow.cancel();
    expect(deadlines.pending).toBe(0);
  });
});
