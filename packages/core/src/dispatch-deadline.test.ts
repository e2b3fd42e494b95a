import { describe, expect, it } from 'vitest';
import { CommandBus } from './command-bus.ts';
import { defineCommand, defineEvent, defineQuery } from './definitions.ts';
import type { HandlerContext } from './dispatch-options.ts';
import { type DispatchError, ErrorCode } from './errors.ts';
import { EventBus } from './event-bus.ts';
import { type AnyMessage, DEADLINE, deadlineOf, RECEIVED_FROM, withMetadata } from './message.ts';
import type { MessageProducer, ProduceOptions } from './message-producer.ts';
import { CommandRouter } from './plugins/command-router.ts';
import { EventRouter } from './plugins/event-router.ts';
import { QueryRouter } from './plugins/query-router.ts';
import { QueryBus } from './query-bus.ts';

const Work = defineCommand<{ ms: number }>('Work');
const Happened = defineEvent<{ ms: number }>('Happened');
const Ask = defineQuery<{ ms: number }, string>('Ask');

/** A handler that waits `ms` or until its signal fires, and records what it saw. */
function watching(seen: { aborted?: unknown; deadline?: number | undefined; message?: AnyMessage }) {
  return (message: AnyMessage & { payload: { ms: number } }, context: HandlerContext) =>
    new Promise<string>((resolve) => {
      seen.deadline = context.deadline;
      seen.message = message;
      const timer = setTimeout(() => resolve('done'), message.payload.ms);
      context.signal.addEventListener('abort', () => {
        seen.aborted = context.signal.reason;
        clearTimeout(timer);
        resolve('aborted');
      });
    });
}

describe('dispatch timeouts, signals and deadlines on every bus', () => {
  it('a command times out, its handler signal fires, and the deadline is stamped on the message', async () => {
    const seen: { aborted?: unknown; deadline?: number | undefined; message?: AnyMessage } = {};
    const router = new CommandRouter();
    router.route(Work).to(watching(seen));
    const bus = new CommandBus();
    bus.use(router);
    const before = Date.now();
    const error = (await bus
      .dispatch(Work.create({ ms: 1_000 }), { timeoutMs: 30 })
      .catch((e: unknown) => e)) as DispatchError;
    expect(error.code).toBe(ErrorCode.Timeout);
    expect(error.name).toBe('DispatchError');
    expect(seen.aborted).toMatchObject({ code: ErrorCode.Timeout });
    expect(seen.deadline).toBeGreaterThanOrEqual(before + 30);
    expect(deadlineOf(seen.message)).toBe(seen.deadline);
  });

  it('an event dispatch is bounded too, and an aborted signal stops it before any listener runs', async () => {
    let ran = 0;
    const router = new EventRouter();
    router.route(Happened).to(async (event, context) => {
      ran++;
      await new Promise((resolve) => setTimeout(resolve, event.payload.ms));
      return context.signal.aborted;
    });
    const bus = new EventBus();
    bus.use(router);
    await expect(bus.dispatch(Happened.create({ ms: 500 }), { timeoutMs: 20 })).rejects.toMatchObject({
      code: ErrorCode.Timeout,
    });
    const aborted = new AbortController();
    aborted.abort();
    await expect(bus.dispatch(Happened.create({ ms: 1 }), { signal: aborted.signal })).rejects.toMatchObject({
      code: ErrorCode.Aborted,
    });
    expect(ran).toBe(1);
  });

  it('a query whose signal is already aborted runs no finder', async () => {
    let ran = 0;
    const router = new QueryRouter();
    router.route(Ask).to(() => {
      ran++;
      return 'answered';
    });
    const bus = new QueryBus();
    bus.use(router);
    const aborted = new AbortController();
    aborted.abort();
    await expect(bus.dispatch(Ask.create({ ms: 0 }), { signal: aborted.signal })).rejects.toMatchObject({
      code: ErrorCode.Aborted,
    });
    expect(ran).toBe(0);
  });

  it('a query handler sees the caller abort through its signal', async () => {
    const seen: { aborted?: unknown } = {};
    const router = new QueryRouter();
    router.route(Ask).to(watching(seen));
    const bus = new QueryBus();
    bus.use(router);
    const controller = new AbortController();
    const pending = bus.dispatch(Ask.create({ ms: 1_000 }), { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('user left')), 10);
    await expect(pending).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(seen.aborted).toMatchObject({ code: ErrorCode.Aborted });
  });

  it('a message that arrived with a deadline keeps it, and the bus bounds its handler by it', async () => {
    const seen: { aborted?: unknown; deadline?: number | undefined; message?: AnyMessage } = {};
    const router = new CommandRouter();
    router.route(Work).to(watching(seen));
    const bus = new CommandBus();
    bus.use(router);
    const deadline = Date.now() + 40;
    const arrived = withMetadata(Work.create({ ms: 1_000 }), {
      [DEADLINE]: deadline,
      [RECEIVED_FROM]: 'test',
    });
    await expect(bus.dispatch(arrived, { timeoutMs: 5_000 })).rejects.toMatchObject({
      code: ErrorCode.Timeout,
    });
    expect(seen.deadline).toBe(deadline);
    expect(seen.message).toBe(arrived); // an arrival is never re-stamped
  });

  it('hands a producer the signal of a bounded command, and nothing for an unbounded one', async () => {
    const given: (ProduceOptions | undefined)[] = [];
    const producer: MessageProducer = {
      capabilities: { replies: false, confirmsHandling: false, durable: false },
      async produce(_message, options) {
        given.push(options);
      },
      async close() {},
    };
    const router = new CommandRouter();
    router.route(Work).to(producer);
    const bus = new CommandBus();
    bus.use(router);
    await bus.dispatch(Work.create({ ms: 0 }));
    await bus.dispatch(Work.create({ ms: 0 }), { timeoutMs: 1_000 });
    expect(given[0]).toBeUndefined();
    expect(given[1]?.signal).toBeInstanceOf(AbortSignal);
  });

  it('handlerSignal reaches the handler without cutting the dispatch short', async () => {
    const seen: { aborted?: unknown } = {};
    const router = new QueryRouter();
    router.route(Ask).to(watching(seen));
    const bus = new QueryBus();
    bus.use(router);
    const transport = new AbortController();
    const pending = bus.dispatch(Ask.create({ ms: 1_000 }), { handlerSignal: transport.signal });
    setTimeout(() => transport.abort(new Error('the caller went away')), 10);
    await expect(pending).resolves.toBe('aborted'); // the handler stopped early; the dispatch still resolved
    expect(seen.aborted).toEqual(new Error('the caller went away'));
    // With a deadline too, both reach the handler's signal.
    const both = new AbortController();
    const bounded = bus.dispatch(Ask.create({ ms: 1_000 }), { handlerSignal: both.signal, timeoutMs: 2_000 });
    setTimeout(() => both.abort(new Error('gone')), 10);
    await expect(bounded).resolves.toBe('aborted');
  });

  it('handlerSignal as a function: called once, when a handler first reads its signal, never otherwise', async () => {
    const router = new QueryRouter();
    router.route(Ask).to(async (query, context) => {
      if (query.payload.ms === 0) return 'never looked';
      const first = context.signal;
      expect(context.signal).toBe(first); // read twice, made once
      return new Promise<string>((resolve) => first.addEventListener('abort', () => resolve('aborted')));
    });
    const bus = new QueryBus();
    bus.use(router);
    let made = 0;
    const transport = new AbortController();
    const lazily = (): AbortSignal => {
      made++;
      return transport.signal;
    };
    await expect(bus.dispatch(Ask.create({ ms: 0 }), { handlerSignal: lazily })).resolves.toBe(
      'never looked',
    );
    expect(made).toBe(0);
    const pending = bus.dispatch(Ask.create({ ms: 1_000 }), { handlerSignal: lazily });
    setTimeout(() => transport.abort(new Error('the caller went away')), 10);
    await expect(pending).resolves.toBe('aborted');
    expect(made).toBe(1);
    // With a deadline (a raceable dispatch), the handler's signal follows the made one too.
    const both = new AbortController();
    const bounded = bus.dispatch(Ask.create({ ms: 1_000 }), {
      handlerSignal: () => both.signal,
      timeoutMs: 2_000,
    });
    setTimeout(() => both.abort(new Error('gone')), 10);
    await expect(bounded).resolves.toBe('aborted');
  });

  it('refuses a negative or non-finite timeout with a configuration error', async () => {
    const bus = new CommandBus();
    await expect(bus.dispatch(Work.create({ ms: 0 }), { timeoutMs: -1 })).rejects.toMatchObject({
      code: ErrorCode.InvalidConfiguration,
    });
    expect(() => new QueryBus({ defaultTimeoutMs: Number.NaN })).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidConfiguration }),
    );
  });
});
