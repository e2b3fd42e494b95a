import { ErrorCode, isSwitchyardError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { Fixtures } from './fixtures.ts';
import { rejectionOf } from './rejection-of.ts';
import type { Harness } from './transport-conformance.ts';
import { sleep, waitFor } from './wait-for.ts';

/** One lifecycle: start once, close once and bounded, in-flight counts, drain on close. */
export function registerLifecycleTests({ setup, timeout }: Harness): void {
  describe('lifecycle', () => {
    it('starts once: start() resolves with the address, a second call with the same', {
      timeout,
    }, async () => {
      const { pair, recorded, sender } = await setup({ start: false });
      const consumerAddress = await pair.consumer.start();
      expect(consumerAddress).toBeDefined();
      expect(await pair.consumer.start()).toEqual(consumerAddress);
      const producerAddress = await pair.producer.start();
      expect(producerAddress).toBeDefined();
      expect(await pair.producer.start()).toEqual(producerAddress);
      await sender.commandBus.dispatch(Fixtures.Command.create({ text: 'after start' }));
      await waitFor(() => recorded.commands.length === 1, 10_000, 'the command');
    });

    it('closes once: a second close() waits for the first, start() after close is refused', {
      timeout,
    }, async () => {
      const { pair, recorded, sender } = await setup();
      const slow = sender.commandBus.dispatch(Fixtures.SlowCommand.create({ delayMs: 300, tag: 'drain' }));
      await waitFor(() => recorded.runs.get(Fixtures.SlowCommand.name) === 1, 10_000, 'the handler to start');
      const order: string[] = [];
      const first = pair.consumer.close().then(() => order.push('first'));
      const second = pair.consumer.close().then(() => order.push('second'));
      await Promise.all([first, second]);
      expect(order).toEqual(['first', 'second']);
      expect(recorded.finished).toEqual(['drain']);
      await slow.catch(() => undefined);
      const refused = await rejectionOf(pair.consumer.start());
      expect(isSwitchyardError(refused, ErrorCode.InvalidConfiguration)).toBe(true);
      await pair.producer.close();
      await pair.producer.close();
      expect(
        isSwitchyardError(await rejectionOf(pair.producer.start()), ErrorCode.InvalidConfiguration),
      ).toBe(true);
      const after = await rejectionOf(
        sender.commandBus.dispatch(Fixtures.Command.create({ text: 'too late' })),
      );
      expect(isSwitchyardError(after, ErrorCode.ProducerClosed)).toBe(true);
    });

    it('counts work in flight on both sides', { timeout }, async () => {
      const { pair, recorded, sender } = await setup();
      const query = sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 300, tag: 'counted' }));
      await waitFor(() => recorded.runs.get(Fixtures.Slow.name) === 1, 10_000, 'the handler to start');
      expect(pair.consumer.inFlight).toBeGreaterThanOrEqual(1);
      expect(pair.producer.inFlight).toBeGreaterThanOrEqual(1);
      await query;
      await waitFor(() => pair.consumer.inFlight === 0 && pair.producer.inFlight === 0, 5_000, 'idle');
    });

    it('a closing consumer finishes every message the transport already handed it', { timeout }, async () => {
      const { pair, recorded, sender } = await setup({ closeTimeoutMs: 10_000 });
      const count = 100;
      const commands = Array.from({ length: count }, (_, index) =>
        Fixtures.SlowCommand.create({ delayMs: 5, tag: `c${index}` }),
      );
      await Promise.all(commands.map((command) => sender.commandBus.dispatch(command)));
      await pair.consumer.close();
      if (!pair.producer.capabilities.durable) {
        // Accepted by a transport that does not keep messages: it was handed over, so it ran.
        expect(recorded.finished).toHaveLength(count);
      } else {
        // A durable transport keeps what the consumer had not fetched yet; what it fetched, finished.
        expect(recorded.finished.length).toBe(recorded.runs.get(Fixtures.SlowCommand.name) ?? 0);
      }
    });

    it('close() is bounded by closeTimeoutMs when a handler never finishes in time', {
      timeout,
    }, async () => {
      const { pair, recorded, sender } = await setup({ closeTimeoutMs: 300 });
      void sender.commandBus
        .dispatch(Fixtures.SlowCommand.create({ delayMs: 3_000, tag: 'stuck' }))
        .catch(() => undefined);
      await waitFor(() => recorded.runs.get(Fixtures.SlowCommand.name) === 1, 10_000, 'the handler to start');
      const started = Date.now();
      await pair.consumer.close();
      expect(Date.now() - started).toBeLessThan(2_500);
      await sleep(50);
    });

    it('settles every query in flight on producer close(), and refuses new messages after it', {
      timeout,
    }, async () => {
      const { pair, sender } = await setup({ closeTimeoutMs: 100 });
      const queries = Array.from({ length: 20 }, (_, index) =>
        sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 400, tag: `q${index}` })),
      );
      const settled = Promise.allSettled(queries);
      await sleep(20);
      await pair.producer.close();
      const outcome = await Promise.race([settled, sleep(10_000).then(() => 'still pending' as const)]);
      expect(outcome).not.toBe('still pending');
      for (const result of outcome as PromiseSettledResult<{ tag: string }>[]) {
        if (result.status === 'fulfilled') expect(result.value.tag).toMatch(/^q\d+$/);
        else expect(isSwitchyardError(result.reason)).toBe(true);
      }
      const after = await rejectionOf(
        sender.commandBus.dispatch(Fixtures.Command.create({ text: 'too late' })),
      );
      expect(isSwitchyardError(after, ErrorCode.ProducerClosed)).toBe(true);
    });
  });
}
