import { describe, expect, it } from 'vitest';
import { Deferred } from '../deferred.ts';
import { ErrorCode } from '../errors.ts';
import { PendingReplies } from './pending-replies.ts';

describe('PendingReplies', () => {
  it('resolves and rejects by id and drops replies nobody waits for', async () => {
    const pending = new PendingReplies({ timeoutMs: 1_000 });
    const ok = new Deferred<unknown>();
    const failed = new Deferred<unknown>();
    pending.add('a', 'Q', ok);
    pending.add('b', 'Q', failed);
    expect(pending.settle({ inReplyTo: 'a', ok: true, result: 1 })).toBe(true);
    expect(pending.settle({ inReplyTo: 'b', ok: false, error: { name: 'E', message: 'm', code: 'C' } })).toBe(
      true,
    );
    expect(pending.settle({ inReplyTo: 'a', ok: true, result: 2 })).toBe(false);
    await expect(ok.promise).resolves.toBe(1);
    await expect(failed.promise).rejects.toMatchObject({
      code: ErrorCode.RemoteError,
      remoteName: 'E',
      remoteCode: 'C',
    });
    expect(pending.size).toBe(0);
  });

  it('times queries out in deadline order with one shared timer, and per-query timeouts on their own', async () => {
    const pending = new PendingReplies({ timeoutMs: 30 });
    const first = new Deferred<unknown>();
    pending.add('1', 'Q', first);
    await new Promise((resolve) => setTimeout(resolve, 15));
    const second = new Deferred<unknown>();
    pending.add('2', 'Q', second);
    const own = new Deferred<unknown>();
    pending.add('3', 'Q', own, 5);
    const settledAt: Record<string, number> = {};
    const started = Date.now();
    for (const [id, deferred] of [
      ['1', first],
      ['2', second],
      ['3', own],
    ] as const) {
      deferred.promise.catch((error: unknown) => {
        expect(error).toMatchObject({ code: ErrorCode.Timeout });
        settledAt[id] = Date.now() - started;
      });
    }
    await expect(second.promise).rejects.toMatchObject({ code: ErrorCode.Timeout });
    expect(Object.keys(settledAt).sort()).toEqual(['1', '2', '3']);
    expect(settledAt['3']!).toBeLessThanOrEqual(settledAt['1']!);
    expect(settledAt['1']!).toBeLessThanOrEqual(settledAt['2']!);
    expect(pending.size).toBe(0);
  });

  it('refuses a second query with an id that is already waiting', async () => {
    const pending = new PendingReplies();
    const first = new Deferred<unknown>();
    const second = new Deferred<unknown>();
    expect(pending.add('same', 'Q', first)).toBe(true);
    expect(pending.add('same', 'Q', second)).toBe(false);
    await expect(second.promise).rejects.toMatchObject({ code: ErrorCode.TransportError });
    pending.settle({ inReplyTo: 'same', ok: true, result: 'first' });
    await expect(first.promise).resolves.toBe('first');
  });

  it('forgets a query whose caller gave up, and rejects all on close', async () => {
    const pending = new PendingReplies();
    const gaveUp = new Deferred<unknown>();
    const waiting = new Deferred<unknown>();
    pending.add('x', 'Q', gaveUp);
    pending.add('y', 'Q', waiting);
    gaveUp.reject(new Error('aborted'));
    gaveUp.promise.catch(() => {});
    expect(pending.has('x')).toBe(false);
    pending.rejectAll(new Error('closed'));
    await expect(waiting.promise).rejects.toThrow('closed');
    expect(pending.size).toBe(0);
  });
});
