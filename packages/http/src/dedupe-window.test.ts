import { describe, expect, it } from 'vitest';
import { DedupeWindow } from './dedupe-window.ts';

describe('DedupeWindow', () => {
  it('never evicts an entry still in progress, whatever the bound', async () => {
    const window = new DedupeWindow<string>(60_000, 2);
    const pending = ['a', 'b', 'c'].map((id) => {
      let settle!: (value: string) => void;
      window.remember(id, new Promise<string>((resolve) => (settle = resolve)), () => true);
      return settle;
    });
    expect(window.size).toBe(3);
    for (const id of ['a', 'b', 'c']) expect(window.get(id)).toBeDefined();
    for (const [index, settle] of pending.entries()) settle(`done ${index}`);
    await new Promise((resolve) => setImmediate(resolve));
    window.remember('d', Promise.resolve('d'), () => true);
    // Settled now: the oldest go first to respect the bound.
    expect(window.get('a')).toBeUndefined();
    await expect(window.get('d')).resolves.toBe('d');
  });

  it('forgets an outcome it is told not to keep, and a rejected one', async () => {
    const window = new DedupeWindow<number>(60_000, 10);
    window.remember('transient', Promise.resolve(500), (status) => status < 500);
    window.remember('failed', Promise.reject(new Error('x')), () => true);
    window.remember('kept', Promise.resolve(202), (status) => status < 500);
    await new Promise((resolve) => setImmediate(resolve));
    expect(window.get('transient')).toBeUndefined();
    expect(window.get('failed')).toBeUndefined();
    await expect(window.get('kept')).resolves.toBe(202);
  });
});
