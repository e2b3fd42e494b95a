import { ErrorCode, type ErrorContext, isSwitchyardError } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Dealer } from 'zeromq';
import { ZeroMQConsumer, ZeroMQProducer } from '../src/index.ts';
import { receivingSide, rejectionOf, Slow, sendingSide } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Makes the next `receive()` of any Dealer in this process fail once, as a socket error would —
 * the one fault no peer can cause on purpose. Only the producer under test has a Dealer here.
 */
function failNextDealerReceive(error: Error): () => void {
  const prototype = Dealer.prototype as unknown as { receive(): Promise<Buffer[]> };
  const original = prototype.receive;
  let failed = false;
  // An own property on Dealer.prototype shadows the (read-only) native method it inherits.
  Object.defineProperty(prototype, 'receive', {
    configurable: true,
    writable: true,
    value: function receive(this: Dealer) {
      if (!failed) {
        failed = true;
        return Promise.reject(error);
      }
      return original.call(this);
    },
  });
  return () => {
    delete (prototype as { receive?: unknown }).receive;
  };
}

describe('zeromq producer reply loop', () => {
  it('reports a failed receive, rejects the queries waiting at once, and reads on', async () => {
    const receiving = receivingSide();
    // Its handler's signal fires when the failed receive rejects the query: a report we do not test here.
    const consumer = new ZeroMQConsumer({ queryEndpoint: 'tcp://127.0.0.1:0', onError() {}, ...receiving });
    const bound = await consumer.start();
    cleanups.push(() => consumer.close());
    const reported: { error: unknown; context: ErrorContext }[] = [];
    const producer = new ZeroMQProducer({
      queryEndpoint: bound.queries,
      onError: (error, context) => reported.push({ error, context }),
    });
    cleanups.push(() => producer.close());
    const { queryBus } = sendingSide(producer);
    const restore = failNextDealerReceive(
      Object.assign(new Error('Interrupted system call'), { code: 'EINTR' }),
    );
    cleanups.push(restore);
    const started = Date.now();
    // Its reply would take 1 s; the failed receive rejects it long before (and before its 5 s timeout).
    const waiting = await rejectionOf(
      queryBus.dispatch(Slow.create({ delayMs: 1_000, tag: 'waiting' }), { timeoutMs: 5_000 }),
    );
    expect(Date.now() - started).toBeLessThan(900);
    expect(isSwitchyardError(waiting, ErrorCode.TransportError)).toBe(true);
    expect(reported).toHaveLength(1);
    expect(reported[0]!.context.stage).toBe('reply');
    expect(String(reported[0]!.error)).toMatch(/receiving replies failed: Interrupted system call/);
    // Not dead: the next queries are answered.
    await expect(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'after' }))).resolves.toEqual({
      tag: 'after',
    });
    expect(producer.pendingReplies).toBe(0);
  });
});
