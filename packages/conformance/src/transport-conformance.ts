import {
  type AnyMessage,
  CommandBus,
  CommandRouter,
  type Deferred,
  ErrorCode,
  EventBus,
  EventRouter,
  isSwitchyardError,
  type MessageProducer,
  QueryBus,
  QueryRouter,
  RECEIVED_FROM,
  type RemoteError,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainError, Fixtures, fixtureDefinitions } from './fixtures.ts';
import { rejectionOf } from './rejection-of.ts';
import { sleep, waitFor } from './wait-for.ts';

/** The receiving side the suite builds: buses with the fixture handlers, for your consumer to feed. */
export interface ConformanceReceiver {
  readonly commandBus: CommandBus;
  readonly eventBus: EventBus;
  readonly queryBus: QueryBus;
  /** Pass these to your consumer's `definitions` option so payloads are validated. */
  readonly definitions: typeof fixtureDefinitions;
}

/** What the factory returns: a producer, and a way to close the consumer side (and anything else). */
export interface TransportPair {
  readonly producer: MessageProducer;
  /** Closes the consumer and whatever the factory started. The suite closes the producer itself. */
  close(): Promise<void>;
}

/** What to run the contract against. */
export interface TransportConformanceOptions {
  /** Shown in the test names, e.g. `"bullmq"`. */
  readonly name: string;
  /**
   * Creates a producer and a consumer that dispatches into `receiver`'s buses. Called once per test;
   * the consumer must be ready to receive when the promise resolves.
   */
  create(receiver: ConformanceReceiver): Promise<TransportPair>;
  /** Per-test timeout in ms. @default 30_000 */
  readonly testTimeoutMs?: number;
  /** How many queries the concurrency test keeps in flight at once. @default 2_000 */
  readonly concurrentQueries?: number;
}

interface Recorded {
  commands: AnyMessage[];
  events: { listener: string; message: AnyMessage }[];
  reproduced: AnyMessage[];
}

/** A producer that must never be called: receiving routes point at it to prove arrivals are not re-produced. */
function spyProducer(recorded: Recorded): MessageProducer {
  return {
    capabilities: { replies: true, confirmsHandling: true, durable: false },
    async produce(message: AnyMessage, deferred?: Deferred<unknown>) {
      recorded.reproduced.push(message);
      deferred?.reject(new Error('re-produced'));
    },
    async close() {},
  };
}

function buildReceiver(recorded: Recorded): ConformanceReceiver {
  const spy = spyProducer(recorded);
  const commands = new CommandRouter();
  commands
    .route(Fixtures.Command)
    .to((command) => {
      recorded.commands.push(command);
    })
    .to(spy);
  const events = new EventRouter();
  events
    .route(Fixtures.Event)
    .to((event) => {
      recorded.events.push({ listener: 'first', message: event });
    })
    .andTo({
      onEvent: (event) => {
        recorded.events.push({ listener: 'second', message: event });
      },
    })
    .andTo(spy);
  const queries = new QueryRouter();
  queries
    .route(Fixtures.Add)
    .to((query) => ({ sum: query.payload.a + query.payload.b }))
    .to(spy);
  queries.route(Fixtures.Echo).to((query) => query.payload);
  queries.route(Fixtures.Slow).to(async (query) => {
    await sleep(query.payload.delayMs);
    return { tag: query.payload.tag };
  });
  queries.route(Fixtures.Fail).to((query) => {
    throw new DomainError(query.payload.reason);
  });
  queries.route(Fixtures.Validated).to((query) => ({ doubled: query.payload.count * 2 }));
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const eventBus = new EventBus();
  eventBus.use(events);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, eventBus, queryBus, definitions: fixtureDefinitions };
}

/** The sending side: every fixture routed to the producer under test. */
function buildSender(producer: MessageProducer) {
  const commands = new CommandRouter();
  commands.route(Fixtures.Command).to(producer);
  const events = new EventRouter();
  events.route(Fixtures.Event).to(producer);
  const queries = new QueryRouter();
  for (const definition of [
    Fixtures.Add,
    Fixtures.Echo,
    Fixtures.Slow,
    Fixtures.Fail,
    Fixtures.Unrouted,
    Fixtures.Validated,
  ]) {
    queries.route(definition.name).to(producer);
  }
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const eventBus = new EventBus();
  eventBus.use(events);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, eventBus, queryBus };
}

function remoteCause(error: unknown): RemoteError {
  expect(isSwitchyardError(error, ErrorCode.RemoteError)).toBe(true);
  const cause = (error as { cause?: unknown }).cause as RemoteError;
  expect(cause.name).toBe('RemoteError');
  return cause;
}

/**
 * Registers the transport contract as a vitest suite. Call it once per producer/consumer pair; add
 * only what is particular to your transport beside it.
 *
 * @example
 * describeTransportConformance({
 *   name: 'in-memory',
 *   async create(receiver) {
 *     const channel = new InMemoryChannel();
 *     const consumer = new InMemoryConsumer({ channel, ...receiver });
 *     return { producer: new InMemoryProducer({ channel }), close: () => consumer.close() };
 *   },
 * });
 */
export function describeTransportConformance(options: TransportConformanceOptions): void {
  const timeout = options.testTimeoutMs ?? 30_000;

  describe(`${options.name} transport conformance`, () => {
    let cleanup: (() => Promise<void>) | undefined;

    afterEach(async () => {
      await cleanup?.();
      cleanup = undefined;
    });

    async function setup() {
      const recorded: Recorded = { commands: [], events: [], reproduced: [] };
      const receiver = buildReceiver(recorded);
      const pair = await options.create(receiver);
      cleanup = async () => {
        await pair.producer.close();
        await pair.close();
      };
      return { recorded, pair, sender: buildSender(pair.producer) };
    }

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

    it("rejects a query with the remote error's name, message and code", { timeout }, async () => {
      const { sender } = await setup();
      const error = await rejectionOf(
        sender.queryBus.dispatch(Fixtures.Fail.create({ reason: 'card declined' })),
      );
      const cause = remoteCause(error);
      expect(cause.remoteName).toBe('DomainError');
      expect(cause.message).toBe('card declined');
      expect(cause.remoteCode).toBe('E_DOMAIN');
      expect(cause.remoteStack).toBeUndefined();
    });

    it('rejects a query nobody handles remotely with a no-handler error', { timeout }, async () => {
      const { sender } = await setup();
      const error = await rejectionOf(sender.queryBus.dispatch(Fixtures.Unrouted.create({})));
      expect(remoteCause(error).remoteCode).toBe(ErrorCode.NoHandler);
    });

    it('rejects a query whose payload fails the remote validator', { timeout }, async () => {
      const { sender } = await setup();
      const bad = Fixtures.Validated.create({ count: 'three' } as unknown as { count: number });
      const error = await rejectionOf(sender.queryBus.dispatch(bad));
      expect(remoteCause(error).remoteCode).toBe(ErrorCode.ValidationError);
      await expect(sender.queryBus.dispatch(Fixtures.Validated.create({ count: 3 }))).resolves.toEqual({
        doubled: 6,
      });
    });

    it('rejects at the timeout with the typed error and drops the late reply', { timeout }, async () => {
      const { sender } = await setup();
      const started = Date.now();
      const error = await rejectionOf(
        sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 400, tag: 'late' }), { timeoutMs: 100 }),
      );
      expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
      expect(Date.now() - started).toBeLessThan(5_000);
      await sleep(600); // the late reply arrives now and must go nowhere
      await expect(
        sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 1, tag: 'next' })),
      ).resolves.toEqual({
        tag: 'next',
      });
    });

    it('rejects on abort with the typed error', { timeout }, async () => {
      const { sender } = await setup();
      const controller = new AbortController();
      const pending = sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 300, tag: 'aborted' }), {
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 20);
      expect(isSwitchyardError(await rejectionOf(pending), ErrorCode.Aborted)).toBe(true);
      const already = new AbortController();
      already.abort();
      const early = sender.queryBus.dispatch(Fixtures.Add.create({ a: 1, b: 1 }), { signal: already.signal });
      expect(isSwitchyardError(await rejectionOf(early), ErrorCode.Aborted)).toBe(true);
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

    it('settles every query in flight on close(), and refuses new messages after it', {
      timeout,
    }, async () => {
      const { pair, sender } = await setup();
      const queries = Array.from({ length: 20 }, (_, index) =>
        sender.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 200, tag: `q${index}` })),
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
