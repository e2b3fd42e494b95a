import { freePort, rejectionOf, sleep, waitFor } from '@switchyard/conformance';
import {
  type AnyMessage,
  CommandRouter,
  createSwitchyard,
  ErrorCode,
  type ErrorContext,
  EventBus,
  EventRouter,
  handle,
  isSwitchyardError,
  JsonCodec,
  QueryRouter,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Publisher } from 'zeromq';
import {
  generateCurveKeyPair,
  ZeroMQTopicPublisher,
  type ZeroMQTopicPublisherOptions,
  ZeroMQTopicSubscriber,
  type ZeroMQTopicSubscriberOptions,
  zeromqTopic,
} from '../src/index.ts';
import { subscriptionPrefixes } from '../src/zeromq-topic-prefixes.ts';
import {
  BillingX,
  CountShipped,
  InvoiceSent,
  Order,
  OrderPlaced,
  Probe,
  range,
  recordingBus,
  Ship,
  Tick,
  untilJoined,
} from './topic-helpers.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

interface Reported {
  readonly error: unknown;
  readonly context: ErrorContext;
}

function publisherOn(options: Partial<ZeroMQTopicPublisherOptions> = {}) {
  const reported: Reported[] = [];
  const publisher = new ZeroMQTopicPublisher({
    endpoint: 'tcp://127.0.0.1:0',
    onError: (error, context) => reported.push({ error, context }),
    closeTimeoutMs: 2_000,
    ...options,
  });
  closers.push(() => publisher.close());
  return { publisher, reported };
}

function subscriberOf(
  endpoint: string | readonly string[],
  options: Partial<ZeroMQTopicSubscriberOptions> = {},
) {
  const reported: Reported[] = [];
  const recording = recordingBus();
  const subscriber = new ZeroMQTopicSubscriber({
    endpoint,
    group: 'test',
    events: [Tick.name, Probe.name],
    eventBus: recording.bus,
    onError: (error, context) => reported.push({ error, context }),
    closeTimeoutMs: 2_000,
    ...options,
  });
  closers.push(() => subscriber.close());
  return { subscriber, reported, ...recording };
}

async function publishTicks(publisher: ZeroMQTopicPublisher, numbers: readonly number[]): Promise<void> {
  for (const n of numbers) await publisher.produce(Tick.create({ n }));
}

describe('ZeroMQ topic: at most once', () => {
  it('a subscriber receives only while it is connected: events published while it was away never arrive', async () => {
    const { publisher } = publisherOn();
    const [endpoint] = await publisher.start();

    const first = subscriberOf(endpoint!, { group: 'live' });
    await first.subscriber.start();
    await untilJoined(publisher, first.received);
    await publishTicks(publisher, range(0, 10));
    await waitFor(() => first.of(Tick.name).length >= 10);
    await first.subscriber.close();

    await publishTicks(publisher, range(10, 10)); // nobody subscribed: resolves, and is gone

    const again = subscriberOf(endpoint!, { group: 'live' });
    await again.subscriber.start();
    await untilJoined(publisher, again.received);
    await publishTicks(publisher, range(20, 10));
    await waitFor(() => again.of(Tick.name).length >= 10);
    await sleep(100);

    expect(first.of(Tick.name)).toEqual(range(0, 10));
    expect(again.of(Tick.name)).toEqual(range(20, 10));
    expect([...first.reported, ...again.reported]).toEqual([]);
  });

  it('every connected subscriber gets every event, whatever its group (no competing consumers)', async () => {
    const { publisher } = publisherOn();
    const [endpoint] = await publisher.start();
    const a = subscriberOf(endpoint!, { group: 'same' });
    const b = subscriberOf(endpoint!, { group: 'same' });
    const c = subscriberOf(endpoint!, { group: 'other' });
    for (const side of [a, b, c]) {
      await side.subscriber.start();
      await untilJoined(publisher, side.received);
    }
    await Promise.all(range(0, 300).map((n) => publisher.produce(Tick.create({ n }))));
    await waitFor(() => [a, b, c].every((side) => side.of(Tick.name).length >= 300));
    await sleep(100);
    for (const side of [a, b, c]) expect(side.of(Tick.name)).toEqual(range(0, 300));
  });

  it('publishing with no subscriber resolves at once', async () => {
    const { publisher } = publisherOn();
    await expect(publisher.produce(Tick.create({ n: 1 }))).resolves.toBeUndefined(); // starts (binds) too
    expect(publisher.state).toBe('started');
  });

  it('a publish never waits: a subscriber that stops reading loses events, the publisher goes on', async () => {
    const { publisher } = publisherOn({ sendHighWaterMark: 10 });
    const [endpoint] = await publisher.start();
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => {
      release = resolve;
    });
    let handled = 0;
    const probes: AnyMessage[] = [];
    const router = new EventRouter();
    router.route(Tick).to(async () => {
      handled++;
      await blocked; // the one handler slot stays taken: the subscriber stops reading
    });
    router.route(Probe).to((event) => {
      probes.push(event);
    });
    const eventBus = new EventBus();
    eventBus.use(router);
    const reported: unknown[] = [];
    const stuck = new ZeroMQTopicSubscriber({
      endpoint: endpoint!,
      group: 'stuck',
      events: [Tick.name, Probe.name],
      concurrency: 1,
      receiveHighWaterMark: 10,
      eventBus,
      onError: (error) => reported.push(error),
      closeTimeoutMs: 2_000,
    });
    closers.push(() => stuck.close());
    await stuck.start();
    await untilJoined(publisher, probes);

    const payload = 'x'.repeat(10_000);
    const count = 3_000; // ~30 MB: far more than the high-water marks and the loopback buffers hold
    const published = await Promise.allSettled(
      range(0, count).map((n) => publisher.produce(Tick.create({ n, payload } as { n: number }))),
    );
    expect(published.filter((outcome) => outcome.status === 'rejected')).toEqual([]);

    release();
    probes.length = 0;
    await untilJoined(publisher, probes); // it reads again
    expect(handled).toBeGreaterThan(0);
    expect(handled).toBeLessThan(count); // the rest was dropped for it, by design
    expect(reported).toEqual([]);
  });
});

describe('ZeroMQ topic: subscriptions', () => {
  it('prefixes: an exact name subscribes to itself, a pattern to the text before its first *', () => {
    expect(subscriptionPrefixes(['OrderPlaced', 'Order*', 'billing.*.sent', 'billing.invoice'])).toEqual([
      'Order',
      'billing.',
    ]);
    expect(subscriptionPrefixes(['a', '*'])).toEqual(['']);
    expect(subscriptionPrefixes(['UserRegistered'])).toEqual(['UserRegistered']);
  });

  it("an exact name matches exactly (not the longer names ZeroMQ's prefix brings); patterns match by glob", async () => {
    const { publisher } = publisherOn();
    const [endpoint] = await publisher.start();
    const side = subscriberOf(endpoint!, {
      events: [Order.name, 'topic-test.billing.*', Probe.name],
    });
    await side.subscriber.start();
    await untilJoined(publisher, side.received);
    for (const definition of [Order, OrderPlaced, InvoiceSent, BillingX, Tick]) {
      await publisher.produce(definition.create({ n: 1 }));
    }
    await publisher.produce(Order.create({ n: 2 })); // the last one: everything before it came first
    await waitFor(() => side.of(Order.name).length >= 2);
    await sleep(50);
    expect(side.received.filter((event) => event.name !== Probe.name).map((event) => event.name)).toEqual([
      Order.name,
      InvoiceSent.name,
      Order.name,
    ]);
    expect(side.reported).toEqual([]); // skipped, never an error
  });

  it('connects to several publishers and receives the events of each', async () => {
    const one = publisherOn();
    const two = publisherOn();
    const [first] = await one.publisher.start();
    const [second] = await two.publisher.start();
    const side = subscriberOf([first!, second!]);
    await side.subscriber.start();
    await untilJoined(one.publisher, side.received);
    side.received.length = 0;
    await untilJoined(two.publisher, side.received);
    await waitFor(() => side.subscriber.connected === 2);
    await one.publisher.produce(Tick.create({ n: 1 }));
    await two.publisher.produce(Tick.create({ n: 2 }));
    await waitFor(() => side.of(Tick.name).length >= 2);
    expect(side.of(Tick.name).sort()).toEqual([1, 2]);
  });

  it('reports hostile input and drops it, and keeps receiving', async () => {
    const port = await freePort();
    const raw = new Publisher({ linger: 0 });
    closers.push(async () => raw.close());
    await raw.bind(`tcp://127.0.0.1:${port}`);
    const side = subscriberOf(`tcp://127.0.0.1:${port}`, { events: ['topic-test.*'] });
    await side.subscriber.start();
    const codec = new JsonCodec();
    const envelope = (message: Parameters<JsonCodec['encode']>[0]) => codec.encode(message);
    await waitFor(async () => {
      await raw.send([Probe.name, envelope(Probe.create({ n: 0 }))]);
      await sleep(10);
      return side.received.length > 0;
    });
    await raw.send([Tick.name]); // one frame
    await raw.send([Tick.name, '{not json']); // unreadable envelope
    await raw.send([Tick.name, envelope(Order.create({ n: 1 }))]); // the name frame lies
    await raw.send([Ship.name, envelope(Ship.create({ n: 1 }))]); // a command on a topic
    await raw.send([Tick.name, envelope(Tick.create({ n: 7 }))]);
    await waitFor(() => side.of(Tick.name).length >= 1);
    await waitFor(() => side.reported.length >= 4);
    expect(side.of(Tick.name)).toEqual([7]);
    expect(side.of(Order.name)).toEqual([]);
    for (const { error, context } of side.reported) {
      expect(isSwitchyardError(error, ErrorCode.DecodeError), String(error)).toBe(true);
      expect(context.stage).toBe('receive');
      expect(context.group).toBe('test');
    }
  });

  it('reports a failing handler with its group, never back to the publisher', async () => {
    const { publisher } = publisherOn();
    const [endpoint] = await publisher.start();
    const router = new EventRouter();
    const probes: AnyMessage[] = [];
    router.route(Probe).to((event) => {
      probes.push(event);
    });
    router.route(Tick).to(() => {
      throw new Error('handler failed');
    });
    const eventBus = new EventBus();
    eventBus.use(router);
    const reported: Reported[] = [];
    const subscriber = new ZeroMQTopicSubscriber({
      endpoint: endpoint!,
      group: 'failing',
      events: [Tick.name, Probe.name],
      eventBus,
      onError: (error, context) => reported.push({ error, context }),
    });
    closers.push(() => subscriber.close());
    await subscriber.start();
    await untilJoined(publisher, probes);
    const event = Tick.create({ n: 1 });
    await expect(publisher.produce(event)).resolves.toBeUndefined();
    await waitFor(() => reported.length >= 1);
    expect(reported[0]!.context).toMatchObject({
      stage: 'receive',
      group: 'failing',
      messageId: event.id,
      messageName: Tick.name,
    });
  });
});

describe('ZeroMQ topic: commands and queries', () => {
  it('the publisher refuses commands and queries', async () => {
    const { publisher } = publisherOn();
    expect(publisher.capabilities).toEqual({
      replies: false,
      confirmsHandling: false,
      durable: false,
      fanOut: true,
    });
    for (const message of [Ship.create({ n: 1 }), CountShipped.create({ n: 1 })]) {
      const error = await rejectionOf(publisher.produce(message));
      expect(isSwitchyardError(error, ErrorCode.InvalidMessage), String(error)).toBe(true);
    }
    expect(() => new CommandRouter().route(Ship).to(publisher)).toThrow(/topic/);
    expect(() => new QueryRouter().route(CountShipped).to(publisher)).toThrow(/topic|replies/);
  });

  it('createSwitchyard refuses a command or a query routed to the topic', () => {
    const topic = zeromqTopic({ endpoint: 'tcp://127.0.0.1:5999', publisher: {} });
    for (const definition of [Ship, CountShipped]) {
      expect(() =>
        createSwitchyard({
          definitions: [definition],
          transports: { topic },
          routes: { [definition.name]: 'topic' },
        }),
      ).toThrow(/topic|replies/);
    }
  });
});

describe('ZeroMQ topic with createSwitchyard', () => {
  it("the publisher's local listeners run at publish; the subscriber's handlers run on receipt", async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const atPublisher: number[] = [];
    const publisherApp = createSwitchyard({
      definitions: [Tick, Probe],
      transports: { events: zeromqTopic({ endpoint, publisher: {} }) },
      routes: { [Tick.name]: 'events', [Probe.name]: 'events' },
      handlers: [handle(Tick, (event) => void atPublisher.push(event.payload.n))],
    });
    closers.push(() => publisherApp.close());
    await publisherApp.start();

    const atSubscriber: number[] = [];
    const probes: number[] = [];
    const subscriberApp = createSwitchyard({
      definitions: [Tick, Probe],
      transports: { events: zeromqTopic({ endpoint, subscriber: { group: 'listeners' } }) },
      routes: { [Tick.name]: 'events', [Probe.name]: 'events' },
      handlers: [
        handle(Tick, (event) => void atSubscriber.push(event.payload.n)),
        handle(Probe, (event) => void probes.push(event.payload.n)),
      ],
    });
    closers.push(() => subscriberApp.close());
    await subscriberApp.start(); // subscribes to the events it handles: Tick and Probe

    await waitFor(async () => {
      await publisherApp.eventBus.dispatch(Probe.create({ n: 0 }));
      await sleep(10);
      return probes.length > 0;
    });
    for (const n of range(0, 5)) await publisherApp.eventBus.dispatch(Tick.create({ n }));
    expect(atPublisher).toEqual(range(0, 5)); // ran at publish, before dispatch resolved
    await waitFor(() => atSubscriber.length >= 5);
    expect(atSubscriber).toEqual(range(0, 5));
  });

  it('a subscriber side without events or handled events is refused', () => {
    expect(() => zeromqTopic({ publisher: {} })).toThrow(/endpoint/);
    const topic = zeromqTopic({ endpoint: 'tcp://127.0.0.1:5999', subscriber: { group: 'g' } });
    expect(() =>
      topic.createConsumer({ commandBus: undefined, eventBus: undefined, queryBus: undefined } as never),
    ).toThrow(/subscribes to no events/);
    expect(topic.capabilities.fanOut).toBe(true);
    expect(topic.consumes).toBe(true);
  });
});

describe('ZeroMQ topic: options', () => {
  const eventBus = new EventBus();
  const configurationError = (build: () => unknown): string => {
    try {
      build();
    } catch (error) {
      expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration), String(error)).toBe(true);
      return (error as Error).message;
    }
    throw new Error('expected a ConfigurationError');
  };

  it('protected mode: off loopback needs curve or an explicit auth: none, on both sides', () => {
    for (const endpoint of ['tcp://0.0.0.0:5560', 'tcp://*:5560', 'tcp://10.1.2.3:5560']) {
      expect(configurationError(() => new ZeroMQTopicPublisher({ endpoint }))).toMatch(
        /curve: \{ secretKey, allowedClientKeys \}.*auth: 'none'/s,
      );
      expect(
        configurationError(
          () => new ZeroMQTopicSubscriber({ endpoint, group: 'g', events: ['E'], eventBus }),
        ),
      ).toMatch(/curve: \{ serverPublicKey, publicKey, secretKey \}.*auth: 'none'/s);
    }
    const server = generateCurveKeyPair();
    const client = generateCurveKeyPair();
    const curve = { serverPublicKey: server.publicKey, ...client };
    expect(() => new ZeroMQTopicPublisher({ endpoint: 'tcp://0.0.0.0:5560', auth: 'none' })).not.toThrow();
    expect(
      () =>
        new ZeroMQTopicPublisher({
          endpoint: 'tcp://0.0.0.0:5560',
          curve: { secretKey: server.secretKey, allowedClientKeys: 'any' },
        }),
    ).not.toThrow();
    expect(() => new ZeroMQTopicPublisher({ endpoint: 'ipc:///tmp/sy-topic.sock' })).not.toThrow();
    for (const extra of [{ auth: 'none' as const }, { curve }]) {
      expect(
        () =>
          new ZeroMQTopicSubscriber({
            endpoint: 'tcp://10.1.2.3:5560',
            group: 'g',
            events: ['E'],
            eventBus,
            ...extra,
          }),
      ).not.toThrow();
    }
    expect(
      () => new ZeroMQTopicSubscriber({ endpoint: 'tcp://[::1]:5560', group: 'g', events: ['E'], eventBus }),
    ).not.toThrow();
  });

  it('refuses a bad group, no events, no endpoint, bad keys and bad numbers', () => {
    const base = { endpoint: 'tcp://127.0.0.1:5560', group: 'g', events: ['E'], eventBus };
    expect(configurationError(() => new ZeroMQTopicSubscriber({ ...base, group: 'has space' }))).toMatch(
      /group/,
    );
    expect(configurationError(() => new ZeroMQTopicSubscriber({ ...base, events: [] }))).toMatch(/no events/);
    expect(configurationError(() => new ZeroMQTopicSubscriber({ ...base, events: undefined }))).toMatch(
      /no events/,
    );
    expect(configurationError(() => new ZeroMQTopicSubscriber({ ...base, endpoint: [] }))).toMatch(
      /endpoint/,
    );
    expect(configurationError(() => new ZeroMQTopicSubscriber({ ...base, endpoint: 'localhost:1' }))).toMatch(
      /endpoint/,
    );
    expect(configurationError(() => new ZeroMQTopicSubscriber({ ...base, concurrency: 0 }))).toMatch(
      /concurrency/,
    );
    expect(
      configurationError(
        () =>
          new ZeroMQTopicSubscriber({
            ...base,
            curve: { serverPublicKey: 'x', publicKey: 'y', secretKey: 'z' },
          }),
      ),
    ).toMatch(/Z85/);
    expect(configurationError(() => new ZeroMQTopicPublisher({ endpoint: [] }))).toMatch(/endpoint/);
    expect(
      configurationError(() => new ZeroMQTopicPublisher({ endpoint: base.endpoint, sendHighWaterMark: -1 })),
    ).toMatch(/sendHighWaterMark/);
    expect(
      configurationError(
        () =>
          new ZeroMQTopicPublisher({
            endpoint: base.endpoint,
            curve: { secretKey: 'x', allowedClientKeys: 'any' },
          }),
      ),
    ).toMatch(/Z85/);
    // messageNames (from createSwitchyard) is the subscription when events is not given
    expect(
      new ZeroMQTopicSubscriber({ ...base, events: undefined, messageNames: ['A', 'B'] }).events,
    ).toEqual(['A', 'B']);
  });
});

describe('ZeroMQ topic: CURVE', () => {
  it('a subscriber on the allow-list receives; another is refused and reported (stage auth)', async () => {
    const server = generateCurveKeyPair();
    const allowed = generateCurveKeyPair();
    const stranger = generateCurveKeyPair();
    const { publisher, reported } = publisherOn({
      curve: { secretKey: server.secretKey, allowedClientKeys: [allowed.publicKey] },
    });
    const [endpoint] = await publisher.start();
    const good = subscriberOf(endpoint!, { curve: { serverPublicKey: server.publicKey, ...allowed } });
    const bad = subscriberOf(endpoint!, { curve: { serverPublicKey: server.publicKey, ...stranger } });
    await good.subscriber.start();
    await bad.subscriber.start();
    await untilJoined(publisher, good.received);
    await publishTicks(publisher, range(0, 3));
    await waitFor(() => good.of(Tick.name).length >= 3);
    await waitFor(() => reported.some(({ context }) => context.stage === 'auth'));
    expect(bad.received).toEqual([]);
    expect(bad.subscriber.connected).toBe(0);
    const refusal = reported.find(({ context }) => context.stage === 'auth')!;
    expect(refusal.context.clientKey).toBe(stranger.publicKey);
  });
});

describe('ZeroMQ topic: lifecycle', () => {
  it('starts and closes once; close is bounded and fires the signal of a handler still running', async () => {
    const { publisher } = publisherOn();
    const [endpoint] = await publisher.start();
    expect(await publisher.start()).toEqual([endpoint]);
    let signal: AbortSignal | undefined;
    const probes: AnyMessage[] = [];
    const router = new EventRouter();
    router.route(Probe).to((event) => {
      probes.push(event);
    });
    router.route(Tick).to(
      (_event, context) =>
        new Promise<void>((resolve) => {
          signal = context.signal;
          context.signal.addEventListener('abort', () => resolve());
        }),
    );
    const eventBus = new EventBus();
    eventBus.use(router);
    const subscriber = new ZeroMQTopicSubscriber({
      endpoint: endpoint!,
      group: 'closing',
      events: [Tick.name, Probe.name],
      eventBus,
      closeTimeoutMs: 200,
    });
    const started = subscriber.start();
    expect(subscriber.start()).toBe(started);
    await started;
    await untilJoined(publisher, probes);
    await publisher.produce(Tick.create({ n: 1 }));
    await waitFor(() => signal !== undefined);
    expect(subscriber.inFlight).toBe(1);
    const closing = subscriber.close();
    expect(subscriber.close()).toBe(closing);
    await closing;
    expect(signal!.aborted).toBe(true);
    expect(subscriber.state).toBe('closed');
    expect(isSwitchyardError(await rejectionOf(subscriber.start()), ErrorCode.InvalidConfiguration)).toBe(
      true,
    );
    await publisher.close();
    expect(
      isSwitchyardError(
        await rejectionOf(publisher.produce(Tick.create({ n: 2 }))),
        ErrorCode.ProducerClosed,
      ),
    ).toBe(true);
  });
});
