import { ErrorCode, isSwitchyardError, RECEIVED_FROM } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { Fixtures } from './fixtures.ts';
import { rejectionOf } from './rejection-of.ts';
import type { Harness } from './transport-conformance.ts';
import { sleep, waitFor } from './wait-for.ts';

/** Delivery: what arrives, once, intact, and what a query resolves with. */
export function registerDeliveryTests({ setup, timeout, options }: Harness): void {
  describe('delivery', () => {
    it('delivers a command once, with payload and metadata intact', { timeout }, async () => {
      const { recorded, sender } = await setup();
      const command = Fixtures.Command.create(
        { text: 'hello' },
        { metadata: { correlationId: 'corr-1', trace: { parent: 'abc', sampled: true } } },
      );
      await sender.commandBus.dispatch(command);
      await waitFor(() => recorded.commands.length >= 1, 10_000, 'the command');
      await sleep(100); // a duplicate would show up here
      expect(recorded.commands).toHaveLength(1);
      const received = recorded.commands[0]!;
      expect(received.id).toBe(command.id);
      expect(received.name).toBe(command.name);
      expect(received.kind).toBe('command');
      expect(received.payload).toEqual({ text: 'hello' });
      expect(received.createdAt).toBe(command.createdAt);
      expect(received.metadata).toMatchObject({
        correlationId: 'corr-1',
        trace: { parent: 'abc', sampled: true },
      });
      expect(typeof received.metadata[RECEIVED_FROM]).toBe('string');
    });

    it('delivers an event to every listener on the remote side', { timeout }, async () => {
      const { recorded, sender } = await setup();
      await sender.eventBus.dispatch(Fixtures.Event.create({ text: 'happened' }));
      await waitFor(() => recorded.events.length >= 2, 10_000, 'both listeners');
      await sleep(100);
      expect(recorded.events.map((entry) => entry.listener)).toEqual(['first', 'second']);
      expect(
        recorded.events.every((entry) => (entry.message.payload as { text: string }).text === 'happened'),
      ).toBe(true);
    });

    it('resolves a query with the remote result', { timeout }, async () => {
      const { sender } = await setup();
      const result = await sender.queryBus.dispatch(Fixtures.Add.create({ a: 2, b: 40 }));
      expect(result).toEqual({ sum: 42 });
    });

    it('gives each of many concurrent queries its own reply', {
      timeout: Math.max(timeout, 60_000),
    }, async () => {
      const { sender } = await setup();
      const count = options.concurrentQueries ?? 2_000;
      const results = await Promise.all(
        Array.from({ length: count }, (_, index) =>
          sender.queryBus.dispatch(Fixtures.Add.create({ a: index, b: 1_000_000 })),
        ),
      );
      results.forEach((result, index) => {
        expect(result.sum).toBe(index + 1_000_000);
      });
    });

    it('round-trips unicode and a 1 MiB payload', { timeout }, async () => {
      const { recorded, sender } = await setup();
      const unicode = {
        text: 'héllo 世界 🚂🚃 עברית e\u0301 \u0000 \u2028 \ud83d',
        nested: { ключ: ['Ω', '𝄞', '\t\n'] },
      };
      await expect(sender.queryBus.dispatch(Fixtures.Echo.create(unicode))).resolves.toEqual(unicode);
      const blob = 'x'.repeat(1024 * 1024);
      await expect(sender.queryBus.dispatch(Fixtures.Echo.create({ blob }))).resolves.toEqual({ blob });
      await sender.commandBus.dispatch(Fixtures.Command.create({ text: 'big', blob }));
      await waitFor(() => recorded.commands.length >= 1, 10_000, 'the large command');
      expect(recorded.commands[0]!.payload).toEqual({ text: 'big', blob });
    });

    it('never re-produces a message that arrived from the transport', { timeout }, async () => {
      const { recorded, sender } = await setup();
      await sender.commandBus.dispatch(Fixtures.Command.create({ text: 'local only' }));
      await sender.eventBus.dispatch(Fixtures.Event.create({ text: 'local only' }));
      await expect(sender.queryBus.dispatch(Fixtures.Add.create({ a: 1, b: 2 }))).resolves.toEqual({
        sum: 3,
      });
      await waitFor(() => recorded.commands.length >= 1 && recorded.events.length >= 2, 10_000, 'delivery');
      expect(recorded.reproduced).toEqual([]);
    });

    it('refuses a value that is not a message at the sender, before anything is sent', {
      timeout,
    }, async () => {
      const { recorded, sender } = await setup();
      const error = await rejectionOf(
        sender.commandBus.dispatchRaw({ name: Fixtures.Command.name, payload: { text: 'hand-made' } }),
      );
      expect(isSwitchyardError(error, ErrorCode.InvalidMessage)).toBe(true);
      await sleep(100);
      expect(recorded.commands).toEqual([]);
      expect(recorded.consumerErrors).toEqual([]);
    });

    it('refuses the per-message delivery options its producer does not declare, sending nothing', {
      timeout,
    }, async () => {
      const { recorded, sender, pair } = await setup();
      const supported = pair.producer.capabilities.delivery ?? [];
      const options = [{ delayMs: 1_000 }, { priority: 1 }, { dedupeKey: 'conformance' }] as const;
      for (const option of options) {
        if (supported.includes(Object.keys(option)[0] as keyof typeof option)) continue;
        const error = await rejectionOf(
          sender.commandBus.dispatch(Fixtures.Command.create({ text: 'x' }), option),
        );
        expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration), JSON.stringify(option)).toBe(true);
      }
      await sleep(100);
      expect(recorded.commands).toEqual([]);
    });
  });
}
