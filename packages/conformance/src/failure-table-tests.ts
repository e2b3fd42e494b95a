import { type DispatchError, ErrorCode, isSwitchyardError } from '@switchyard/core';
import { describe, expect, it } from 'vitest';
import { Fixtures } from './fixtures.ts';
import { rejectionOf } from './rejection-of.ts';
import type { Harness } from './transport-conformance.ts';
import { sleep, waitFor } from './wait-for.ts';

/** The top-level shape every transport must give the same failure. */
interface Expected {
  readonly code: string;
  readonly remoteCode?: string | undefined;
  readonly remoteName?: string | undefined;
  readonly issueCount?: number;
}

/** Asserts the failure's shape at the top level of what `dispatch` rejected with. */
export function expectFailure(error: unknown, expected: Expected): void {
  expect(isSwitchyardError(error), `expected a Switchyard error, got ${String(error)}`).toBe(true);
  const failure = error as DispatchError;
  expect(failure.name).toBe('DispatchError');
  expect(failure.code).toBe(expected.code);
  expect(failure.remoteCode).toBe(expected.remoteCode);
  expect(failure.remoteName).toBe(expected.remoteName);
  expect(failure.issues).toHaveLength(expected.issueCount ?? 0);
}

/**
 * Same failure, same error: for each failure class, the caller sees the same `code`, `remoteCode`,
 * `remoteName` and `issues` on every transport — for every query, and for a command wherever the
 * transport reports handling back (`capabilities.confirmsHandling`); elsewhere the failure reaches
 * the consumer's `onError`.
 */
export function registerFailureTableTests({ setup, timeout }: Harness): void {
  describe('same failure, same error', () => {
    it('handler error: REMOTE_ERROR with the remote name, message and code', { timeout }, async () => {
      const { sender } = await setup();
      const error = await rejectionOf(
        sender.queryBus.dispatch(Fixtures.Fail.create({ reason: 'card declined' })),
      );
      expectFailure(error, {
        code: ErrorCode.RemoteError,
        remoteCode: 'E_DOMAIN',
        remoteName: 'DomainError',
      });
      expect((error as Error).message).toContain('card declined');
      expect((error as { cause?: { remoteStack?: unknown } }).cause?.remoteStack).toBeUndefined();
    });

    it('validation error: REMOTE_ERROR with every issue', { timeout }, async () => {
      const { sender } = await setup();
      const bad = Fixtures.Validated.create({} as { count: number; label: string });
      const error = await rejectionOf(sender.queryBus.dispatch(bad));
      expectFailure(error, {
        code: ErrorCode.RemoteError,
        remoteCode: ErrorCode.ValidationError,
        remoteName: 'ValidationError',
        issueCount: 2,
      });
      expect((error as DispatchError).issues.map((issue) => issue.path)).toEqual([['count'], ['label']]);
      await expect(
        sender.queryBus.dispatch(Fixtures.Validated.create({ count: 3, label: 'ok' })),
      ).resolves.toEqual({
        doubled: 6,
      });
    });

    it('unknown message: REMOTE_ERROR with remoteCode NO_HANDLER', { timeout }, async () => {
      const { sender } = await setup();
      const error = await rejectionOf(sender.queryBus.dispatch(Fixtures.Unrouted.create({})));
      expectFailure(error, {
        code: ErrorCode.RemoteError,
        remoteCode: ErrorCode.NoHandler,
        remoteName: 'NoHandlerError',
      });
    });

    it('timeout: TIMEOUT, and the late reply goes nowhere', { timeout }, async () => {
      const { sender } = await setup();
      const started = Date.now();
      const error = await rejectionOf(
        sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 400, tag: 'late' }), { timeoutMs: 100 }),
      );
      expectFailure(error, { code: ErrorCode.Timeout });
      expect(Date.now() - started).toBeLessThan(5_000);
      await sleep(600); // the late reply arrives now and must go nowhere
      await expect(
        sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 1, tag: 'next' })),
      ).resolves.toEqual({
        tag: 'next',
      });
    });

    it('abort: ABORTED, before or after the message left', { timeout }, async () => {
      const { sender } = await setup();
      const controller = new AbortController();
      const pending = sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 300, tag: 'aborted' }), {
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 20);
      expectFailure(await rejectionOf(pending), { code: ErrorCode.Aborted });
      const already = new AbortController();
      already.abort();
      const early = sender.queryBus.dispatch(Fixtures.Add.create({ a: 1, b: 1 }), { signal: already.signal });
      expectFailure(await rejectionOf(early), { code: ErrorCode.Aborted });
      const command = sender.commandBus.dispatch(Fixtures.Command.create({ text: 'x' }), {
        signal: already.signal,
      });
      expectFailure(await rejectionOf(command), { code: ErrorCode.Aborted });
    });

    it('commands: the failure reaches the caller where the transport confirms handling, else onError', {
      timeout,
    }, async () => {
      const { pair, recorded, sender } = await setup();
      const failing = Fixtures.FailCommand.create({ reason: 'out of stock' });
      const invalid = Fixtures.ValidatedCommand.create({ count: 'x' } as unknown as {
        count: number;
        label: string;
      });
      if (pair.producer.capabilities.confirmsHandling) {
        expectFailure(await rejectionOf(sender.commandBus.dispatch(failing)), {
          code: ErrorCode.RemoteError,
          remoteCode: 'E_DOMAIN',
          remoteName: 'DomainError',
        });
        expectFailure(await rejectionOf(sender.commandBus.dispatch(invalid)), {
          code: ErrorCode.RemoteError,
          remoteCode: ErrorCode.ValidationError,
          remoteName: 'ValidationError',
          issueCount: 2,
        });
      } else {
        await sender.commandBus.dispatch(failing);
        await sender.commandBus.dispatch(invalid);
      }
      // Either way the receiving side reports both, with the message they concern: never nowhere.
      await waitFor(
        () =>
          recorded.consumerErrors.some((entry) => entry.context.messageId === failing.id) &&
          recorded.consumerErrors.some((entry) => entry.context.messageId === invalid.id),
        15_000,
        'both failures reported to onError',
      );
      const reported = recorded.consumerErrors.find((entry) => entry.context.messageId === invalid.id)!;
      expect(reported.context.stage).toBe('receive');
      expect(reported.context.messageName).toBe(Fixtures.ValidatedCommand.name);
      expect(isSwitchyardError(reported.error, ErrorCode.ValidationError)).toBe(true);
    });

    it('no consumer reachable: non-durable transports reject with TRANSPORT_ERROR, durable ones keep the command', {
      timeout,
    }, async () => {
      const { pair, recorded, sender } = await setup({ start: false });
      await pair.producer.start();
      const command = Fixtures.Command.create({ text: 'nobody there' });
      if (pair.producer.capabilities.durable) {
        await sender.commandBus.dispatch(command);
        await pair.consumer.start();
        await waitFor(() => recorded.commands.length === 1, 10_000, 'the kept command');
        expect(recorded.commands[0]!.id).toBe(command.id);
      } else {
        expectFailure(await rejectionOf(sender.commandBus.dispatch(command, { timeoutMs: 10_000 })), {
          code: ErrorCode.TransportError,
        });
        expectFailure(
          await rejectionOf(
            sender.queryBus.dispatch(Fixtures.Add.create({ a: 1, b: 1 }), { timeoutMs: 10_000 }),
          ),
          { code: ErrorCode.TransportError },
        );
        await pair.consumer.start();
        await sleep(200);
        expect(recorded.commands).toEqual([]);
      }
    });
  });
}
