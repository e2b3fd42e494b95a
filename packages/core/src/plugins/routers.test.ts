import { describe, expect, it } from 'vitest';
import { CommandBus } from '../command-bus.ts';
import { defineCommand, defineEvent, defineQuery } from '../definitions.ts';
import { ErrorCode, isSwitchyardError } from '../errors.ts';
import { EventBus } from '../event-bus.ts';
import { type AnyMessage, RECEIVED_FROM, withMetadata } from '../message.ts';
import type { MessageProducer, ProduceOptions } from '../message-producer.ts';
import { QueryBus } from '../query-bus.ts';
import { AsyncSwitchRouter } from './async-switch-router.ts';
import { CommandRouter } from './command-router.ts';
import { EventRouter } from './event-router.ts';
import { QueryRouter } from './query-router.ts';
import { RegexRouter } from './regex-router.ts';

const Send = defineCommand<{ to: string }>('Mail.Send');
const Sent = defineEvent<{ to: string }>('Mail.Sent');
const Count = defineQuery<Record<string, never>, number>('Mail.Count');

/** A producer that records what it was given and answers queries with 42. */
function recordingProducer(replies = true) {
  const produced: AnyMessage[] = [];
  const producer: MessageProducer & { produced: AnyMessage[] } = {
    produced,
    capabilities: { replies, confirmsHandling: false, durable: false },
    async produce(message: AnyMessage, options?: ProduceOptions) {
      produced.push(message);
      options?.deferred?.resolve(42);
    },
    async close() {},
  };
  return producer;
}

const arrived = <M extends AnyMessage>(message: M) => withMetadata(message, { [RECEIVED_FROM]: 'test' });

describe('routers: misuse is an error at registration', () => {
  it('refuses a second handler for a command or query', () => {
    const router = new CommandRouter();
    router.route(Send).to(() => {});
    expect(() => router.route(Send).to(() => {})).toThrowError(/already routed to a handler/);
    const queries = new QueryRouter();
    queries.route(Count).to(() => 1);
    expect(() => queries.route(Count).to(() => 2)).toThrowError(/exactly one/);
  });

  it('refuses a route without a target', () => {
    const router = new CommandRouter();
    router.route(Send);
    expect(() => router.route('Other')).toThrowError(/has no target/);
    const fresh = new CommandRouter();
    fresh.route(Send);
    expect(() => new CommandBus().use(fresh)).toThrowError(/has no target/);
  });

  it('refuses invalid targets, empty names and definitions of the wrong kind', () => {
    const router = new CommandRouter();
    expect(() => router.route('')).toThrowError(/non-empty/);
    expect(() => router.route(Send).to(42 as unknown as string)).toThrowError(/Invalid target/);
    expect(() => new CommandRouter().route(Sent as never)).toThrowError(/is a event/);
  });

  it('refuses a query routed to a producer that cannot reply', () => {
    const router = new QueryRouter();
    expect(() => router.route(Count).to(recordingProducer(false))).toThrowError(/does not carry replies/);
  });

  it('refuses a router attached to the wrong bus', () => {
    expect(() => new EventBus().use(new CommandRouter())).toThrowError(/command buses/);
  });

  it('every misuse error carries SWITCHYARD_INVALID_CONFIGURATION', () => {
    const misuses: (() => unknown)[] = [
      () => new QueryRouter().route(Count).to(recordingProducer(false)),
      () => new CommandRouter().route(''),
      () => new CommandRouter().route(Send).to(42 as unknown as string),
      () => new EventBus().use(new CommandRouter()),
    ];
    for (const misuse of misuses) {
      let thrown: unknown;
      try {
        misuse();
      } catch (error) {
        thrown = error;
      }
      // A misuse that throws nothing fails here instead of passing by accident.
      expect(thrown, misuse.toString()).toBeDefined();
      expect(isSwitchyardError(thrown, ErrorCode.InvalidConfiguration)).toBe(true);
    }
  });
});

describe('routing to producers', () => {
  it('sends a local dispatch to the producer and an arrival to the local handler', async () => {
    const producer = recordingProducer();
    const local: AnyMessage[] = [];
    const router = new CommandRouter();
    router
      .route(Send)
      .to((command) => {
        local.push(command);
      })
      .to(producer);
    const bus = new CommandBus();
    bus.use(router);
    await bus.dispatch(Send.create({ to: 'a' }));
    expect(producer.produced).toHaveLength(1);
    expect(local).toHaveLength(0);
    await bus.dispatch(arrived(Send.create({ to: 'b' })));
    expect(producer.produced).toHaveLength(1);
    expect(local).toHaveLength(1);
  });

  it('never re-produces an arrival that has no local handler', async () => {
    const producer = recordingProducer();
    const router = new CommandRouter();
    router.route(Send).to(producer);
    const bus = new CommandBus();
    bus.use(router);
    const error = await bus.dispatch(arrived(Send.create({ to: 'x' }))).catch((e: unknown) => e);
    expect(isSwitchyardError(error, ErrorCode.NoHandler)).toBe(true);
    expect(producer.produced).toHaveLength(0);
  });

  it('sends events with producers to the producers only; arrivals to local listeners only', async () => {
    const producer = recordingProducer();
    const local: string[] = [];
    const router = new EventRouter();
    router
      .route(Sent)
      .to(() => local.push('one'))
      .andTo(producer)
      .andTo(() => local.push('two'));
    const bus = new EventBus();
    bus.use(router);
    await bus.dispatch(Sent.create({ to: 'a' }));
    expect(producer.produced).toHaveLength(1);
    expect(local).toEqual([]);
    await bus.dispatch(arrived(Sent.create({ to: 'a' })));
    expect(producer.produced).toHaveLength(1);
    expect(local).toEqual(['one', 'two']);
  });

  it('resolves a query through a producer that settles the deferred', async () => {
    const router = new QueryRouter();
    router.route(Count).to(recordingProducer());
    const bus = new QueryBus();
    bus.use(router);
    await expect(bus.dispatch(Count.create({}))).resolves.toBe(42);
  });
});

describe('RegexRouter', () => {
  it('routes commands by pattern and refuses ambiguous matches', async () => {
    const handled: string[] = [];
    const router = new RegexRouter();
    router.route(/^Mail\./).to((command: AnyMessage) => handled.push(command.name));
    router.route(/Send$/).to(() => handled.push('second'));
    const bus = new CommandBus();
    bus.use(router);
    await bus.dispatchRaw({ name: 'Mail.Archive' });
    expect(handled).toEqual(['Mail.Archive']);
    await expect(bus.dispatch(Send.create({ to: 'x' }))).rejects.toMatchObject({
      code: ErrorCode.InvalidConfiguration,
    });
  });

  it('routes events to every matching pattern in order', async () => {
    const handled: string[] = [];
    const router = new RegexRouter();
    router.route(/^Mail\./).to(() => handled.push('mail'));
    router.route(/Sent$/).to(() => handled.push('sent'));
    const bus = new EventBus();
    bus.use(router);
    await bus.dispatch(Sent.create({ to: 'x' }));
    expect(handled).toEqual(['mail', 'sent']);
  });

  it('refuses global patterns and several command targets for one pattern', () => {
    expect(() => new RegexRouter().route(/x/g)).toThrowError(/global/);
    const router = new RegexRouter();
    router
      .route(/x/)
      .to(() => {})
      .to(() => {});
    expect(() => new CommandBus().use(router)).toThrowError(/several targets/);
  });
});

describe('AsyncSwitchRouter', () => {
  it('switches local dispatches to the producer and arrivals to the local router (both sides)', async () => {
    const producer = recordingProducer();
    const local: string[] = [];
    const inner = new CommandRouter();
    inner.route(Send).to(() => local.push('handled'));
    inner.route('Local.Only').to(() => local.push('local-only'));
    const sender = new CommandBus();
    sender.use(new AsyncSwitchRouter(inner, { [Send.name]: producer }));
    await sender.dispatch(Send.create({ to: 'x' }));
    await sender.dispatchRaw({ name: 'Local.Only' });
    expect(producer.produced.map((m) => m.name)).toEqual(['Mail.Send']);
    expect(local).toEqual(['local-only']);
    // The receiving process runs the very same setup; the arrival is handled locally.
    await sender.dispatchRaw(arrived(producer.produced[0]!));
    expect(local).toEqual(['local-only', 'handled']);
    expect(producer.produced).toHaveLength(1);
  });

  it('works on the query bus and checks the producer can reply', async () => {
    const inner = new QueryRouter();
    inner.route(Count).to(() => 7);
    const bus = new QueryBus();
    bus.use(new AsyncSwitchRouter(inner, recordingProducer()));
    await expect(bus.dispatch(Count.create({}))).resolves.toBe(42);
    await expect(bus.dispatch(arrived(Count.create({})))).resolves.toBe(7);
    const mute = new QueryBus();
    mute.use(new AsyncSwitchRouter(inner, () => recordingProducer(false)));
    await expect(mute.dispatch(Count.create({}))).rejects.toMatchObject({
      code: ErrorCode.InvalidConfiguration,
    });
  });
});
