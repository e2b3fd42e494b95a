import { describe, expect, it } from 'vitest';
import { fulfilledWithin } from './fulfilled-within.ts';

describe('fulfilledWithin', () => {
  it('is true for a promise that fulfils in time, false for one that rejects or is too slow', async () => {
    expect(await fulfilledWithin(Promise.resolve('done'), 1_000)).toBe(true);
    expect(await fulfilledWithin(Promise.reject(new Error('failed')), 1_000)).toBe(false);
    const started = Date.now();
    expect(await fulfilledWithin(new Promise(() => {}), 30)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
  });
});
