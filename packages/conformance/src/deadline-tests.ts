import { DEADLINE, ErrorCode } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { expectFailure } from './failure-table-tests.ts';
import { Fixtures } from './fixtures.ts';
import { rejectionOf } from './rejection-of.ts';
import type { Harness } from './transport-conformance.ts';
import { sleep, waitFor } from './wait-for.ts';

/** Deadlines travel with the message; the remote handler's signal fires when nobody waits any more. */
export function registerDeadlineTests({ setup, timeout, options }: Harness): void {
  describe('deadlines and cancellation', () => {
    it('never runs a query whose deadline passed while it waited behind a busy handler', {
      timeout,
    }, async () => {
      const { recorded, sender } = await setup({ oneAtATime: true });
      const busy = sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 2_000, tag: 'busy' }));
      await waitFor(() => recorded.runs.get(Fixtures.Slow.name) === 1, 10_000, 'the busy handler to start');
      const error = await rejectionOf(
        sender.queryBus.dispatch(Fixtures.Counted.create({ tag: 'too late' }), { timeoutMs: 500 }),
      );
      expectFailure(error, { code: ErrorCode.Timeout });
      await expect(busy).resolves.toEqual({ tag: 'busy' });
      await sleep(300); // the expired query would run now, if anything still held it
      expect(recorded.runs.get(Fixtures.Counted.name) ?? 0).toBe(0);
      // The next query with time to spare runs normally.
      await expect(
        sender.queryBus.dispatch(Fixtures.Counted.create({ tag: 'in time' }), { timeoutMs: 5_000 }),
      ).resolves.toEqual({ tag: 'in time' });
    });

    it('carries the deadline to the remote handler, whose signal fires at it', { timeout }, async () => {
      const { recorded, sender } = await setup();
      const command = Fixtures.SlowCommand.create({ delayMs: 3_000, tag: 'deadline' });
      const sent = Date.now();
      const dispatched = sender.commandBus
        .dispatch(command, { timeoutMs: 400 })
        .catch((error: unknown) => error);
      await waitFor(() => recorded.signals.has('deadline'), 5_000, "the handler's signal");
      const deadline = recorded.deadlines.get('deadline');
      expect(deadline).toBeGreaterThanOrEqual(sent + 400);
      expect(deadline).toBeLessThan(sent + 1_400);
      expect(recorded.signals.get('deadline')!).toBeGreaterThanOrEqual(deadline! - 50);
      const outcome = await dispatched;
      // Resolved once accepted, or TIMEOUT when the transport waits for the handler (confirmsHandling).
      if (outcome !== undefined) expectFailure(outcome, { code: ErrorCode.Timeout });
      expect(typeof DEADLINE).toBe('string');
    });

    it("fires the remote handler's signal when the caller aborts (at the latest at the deadline)", {
      timeout,
    }, async () => {
      const { recorded, sender } = await setup();
      const controller = new AbortController();
      const pending = sender.queryBus.dispatch(Fixtures.Watch.create({ tag: 'abort', maxMs: 5_000 }), {
        signal: controller.signal,
        timeoutMs: 2_000,
      });
      await waitFor(() => recorded.runs.get(Fixtures.Watch.name) === 1, 10_000, 'the handler to start');
      const abortedAt = Date.now();
      controller.abort();
      expectFailure(await rejectionOf(pending), { code: ErrorCode.Aborted });
      await waitFor(() => recorded.signals.has('abort'), 5_000, "the remote handler's signal");
      expect(recorded.signals.get('abort')! - abortedAt).toBeLessThan(2_500);
    });

    it.skipIf(options.cancelsRemoteHandler === false)(
      "fires the remote handler's signal within a second of an abort, with no deadline at all",
      { timeout },
      async () => {
        const { recorded, sender } = await setup();
        const controller = new AbortController();
        const pending = sender.queryBus.dispatch(Fixtures.Watch.create({ tag: 'abort only', maxMs: 5_000 }), {
          signal: controller.signal,
        });
        await waitFor(() => recorded.runs.get(Fixtures.Watch.name) === 1, 10_000, 'the handler to start');
        const abortedAt = Date.now();
        controller.abort();
        expectFailure(await rejectionOf(pending), { code: ErrorCode.Aborted });
        await waitFor(() => recorded.signals.has('abort only'), 3_000, "the remote handler's signal");
        expect(recorded.signals.get('abort only')! - abortedAt).toBeLessThan(1_000);
      },
    );
  });
}
