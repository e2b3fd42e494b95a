import {
  createSwitchyard,
  defineCommand,
  defineEvent,
  EventBus,
  EventRouter,
  handle,
  isSwitchyardError,
} from '@switchyard/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { bullmqTopic, TopicDeadLetters, TopicPublisher, TopicSubscriber } from '../src/index.ts';
import { deleteKeys, REDIS_URL, sleep, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Charged = defineEvent<{ n: number }>('Charged');
const Refunded = defineEvent<{ n: number }>('Refunded');
const Charge = defineCommand<{ n: number }>('Charge');
const prefix = uniquePrefix('topic-failures');
const closers: (() => Promise<void>)[] = [];
let topics = 0;

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(() => deleteKeys(prefix));

function busWith(listener: (event: { payload: { n: number } }) => unknown): EventBus {
  const router = new EventRouter();
  router.route(Charged).to(listener);
  const bus = new EventBus();
  bus.use(router);
  return bus;
}

async function subscriber(topic: string, group: string, eventBus: EventBus, extra: object = {}) {
  const sub = new TopicSubscriber({
    topic,
    group,
    prefix,
    connection: REDIS_URL,
    events: [Charged.name],
    attempts: 3,
    backoff: 50,
    visibilityTimeoutMs: 2_000,
    eventBus,
    onError: () => undefined,
    ...extra,
  });
  closers.push(() => sub.close());
  await sub.start();
  return sub;
}

async function publisher(topic: string) {
  const pub = new TopicPublisher({ topic, prefix, connection: REDIS_URL });
  closers.push(() => pub.close());
  return pub;
}

describe('BullMQ topic failures', () => {
  it('retries a failing handler with backoff and acknowledges the event once it succeeds', async () => {
    const topic = `retry-${++topics}`;
    let calls = 0;
    await subscriber(
      topic,
      'flaky',
      busWith(() => {
        calls++;
        if (calls < 3) throw new Error(`try ${calls} fails`);
      }),
    );
    await (await publisher(topic)).produce(Charged.create({ n: 1 }));
    await waitFor(() => calls >= 3, 10_000, 'three tries');
    await sleep(300);
    expect(calls).toBe(3);
    const letters = new TopicDeadLetters({ topic, group: 'flaky', prefix, connection: REDIS_URL });
    closers.push(() => letters.close());
    expect(await letters.count()).toBe(0);
  });

  it('keeps an event that fails every try as a dead letter of its group; replay goes to that group only', {
    timeout: 20_000,
  }, async () => {
    const topic = `dead-${++topics}`;
    let fixed = false;
    const handledByBroken: number[] = [];
    const handledByOther: number[] = [];
    await subscriber(
      topic,
      'broken',
      busWith((event) => {
        if (!fixed) throw new Error('card service down');
        handledByBroken.push(event.payload.n);
      }),
    );
    await subscriber(
      topic,
      'other',
      busWith((event) => {
        handledByOther.push(event.payload.n);
      }),
    );
    const sent = Charged.create({ n: 7 });
    await (await publisher(topic)).produce(sent);

    const letters = new TopicDeadLetters({ topic, group: 'broken', prefix, connection: REDIS_URL });
    closers.push(() => letters.close());
    await waitFor(async () => (await letters.count()) === 1, 10_000, 'a dead letter');
    const [letter] = await letters.list();
    expect(letter?.name).toBe(Charged.name);
    expect(letter?.group).toBe('broken');
    expect(letter?.attemptsMade).toBe(3);
    expect(letter?.failedReason).toContain('card service down');
    expect(letter?.message?.id).toBe(sent.id);
    expect(handledByOther).toEqual([7]);

    fixed = true;
    expect(await letters.replay(letter!.letterId)).toBe(true);
    await waitFor(() => handledByBroken.length === 1, 10_000, 'the replayed event');
    await sleep(300);
    expect(handledByBroken).toEqual([7]);
    expect(handledByOther).toEqual([7]); // not delivered to the other group again
    expect(await letters.count()).toBe(0);
    expect(await letters.replay(letter!.letterId)).toBe(false);
  });

  it('a live subscriber keeps an event whose handler outlasts visibilityTimeoutMs: no other takes it over', {
    timeout: 20_000,
  }, async () => {
    const topic = `long-${++topics}`;
    const runs: string[] = [];
    const slowHandler = (who: string) =>
      busWith(async () => {
        runs.push(who);
        await sleep(1_500);
      });
    await subscriber(topic, 'slow', slowHandler('a'), { visibilityTimeoutMs: 300 });
    await subscriber(topic, 'slow', slowHandler('b'), { visibilityTimeoutMs: 300 });
    await (await publisher(topic)).produce(Charged.create({ n: 1 }));
    await waitFor(() => runs.length === 1, 5_000, 'the handler to start');
    await sleep(2_000); // five visibility timeouts, and the handler finished
    expect(runs.length).toBe(1);
  });

  it('an undecodable entry becomes a dead letter at once and the subscriber goes on', async () => {
    const topic = `poison-${++topics}`;
    const seen: number[] = [];
    const errors: unknown[] = [];
    await subscriber(
      topic,
      'g',
      busWith((event) => void seen.push(event.payload.n)),
      {
        onError: (error: unknown) => void errors.push(error),
      },
    );
    const { Redis } = await import('ioredis');
    const raw = new Redis(REDIS_URL);
    closers.push(async () => void raw.disconnect());
    await raw.xadd(`${prefix}:topic:${topic}`, '*', 'n', Charged.name, 'e', '{not json');
    await (await publisher(topic)).produce(Charged.create({ n: 2 }));
    await waitFor(() => seen.length === 1, 10_000, 'the good event');
    const letters = new TopicDeadLetters({ topic, group: 'g', prefix, connection: REDIS_URL });
    closers.push(() => letters.close());
    await waitFor(async () => (await letters.count()) === 1, 10_000, 'the poison letter');
    const [letter] = await letters.list();
    expect(letter?.attemptsMade).toBe(1);
    expect(letter?.message).toBeUndefined();
    expect(letter?.failedReason).toMatch(/^SWITCHYARD_DECODE_ERROR/);
    expect(errors.some((error) => isSwitchyardError(error) && error.code === 'SWITCHYARD_DECODE_ERROR')).toBe(
      true,
    );
    expect(await letters.purge()).toBe(1);
    expect(await letters.count()).toBe(0);
  });

  it('a publish Redis cannot take rejects with SWITCHYARD_TRANSPORT_ERROR', async () => {
    const reported: unknown[] = [];
    const pub = new TopicPublisher({
      topic: 'down',
      prefix,
      connection: 'redis://127.0.0.1:1',
      sendTimeoutMs: 500,
      onError: (error) => void reported.push(error),
    });
    closers.push(() => pub.close());
    const error = await pub.produce(Charged.create({ n: 1 })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSwitchyardError(error) && error.code).toBe('SWITCHYARD_TRANSPORT_ERROR');
    expect(String(reported[0])).toContain('ECONNREFUSED'); // the connection error reached onError too
  });

  it('refuses a subscriber without a group or events, and a topic name with ":"', () => {
    expect(() => new TopicSubscriber({ topic: 't', group: '', events: ['X'] })).toThrow(/subscriber group/);
    expect(() => new TopicSubscriber({ topic: 't', group: 'g' })).toThrow(/subscribes to no events/);
    expect(() => new TopicPublisher({ topic: 'a:b' })).toThrow(/topic must be/);
  });
});

describe('a BullMQ topic with createSwitchyard', () => {
  it('the publisher knows no subscriber, its own listeners still run, and a new subscriber needs no change on it', {
    timeout: 20_000,
  }, async () => {
    const topic = `app-${++topics}`;
    const events = (subscriber?: { group: string }) =>
      bullmqTopic({
        topic,
        prefix,
        connection: REDIS_URL,
        ...(subscriber === undefined ? {} : { subscriber }),
      });
    const audit: number[] = [];
    const publisherApp = createSwitchyard({
      transports: { events: events() },
      routes: [
        [Charged, 'events'],
        [Refunded, 'events'],
      ],
      handlers: [handle(Charged, (event) => void audit.push(event.payload.n))],
    });
    closers.push(() => publisherApp.close());
    expect(publisherApp.serves).toEqual([]);

    const billing: number[] = [];
    const billingApp = createSwitchyard({
      transports: { events: events({ group: 'billing' }) },
      routes: [[Charged, 'events']],
      handlers: [handle(Charged, (event) => void billing.push(event.payload.n))],
    });
    closers.push(() => billingApp.close());
    expect(billingApp.serves).toEqual(['events']);
    await billingApp.start();
    await publisherApp.start();

    await publisherApp.eventBus.dispatch(Charged.create({ n: 1 }));
    await waitFor(() => billing.length === 1, 10_000, 'billing to get the event');
    expect(audit).toEqual([1]); // the publisher's local listener ran once, at publish

    // A second group, added without touching the publisher.
    const mail: number[] = [];
    const mailApp = createSwitchyard({
      transports: { events: events({ group: 'mail' }) },
      routes: [[Charged, 'events']],
      handlers: [handle(Charged, (event) => void mail.push(event.payload.n))],
    });
    closers.push(() => mailApp.close());
    await mailApp.start();
    await publisherApp.eventBus.dispatch(Charged.create({ n: 2 }));
    await waitFor(() => billing.length === 2 && mail.length === 1, 10_000, 'both groups');
    await sleep(300);
    expect(billing).toEqual([1, 2]);
    expect(mail).toEqual([2]); // a new group starts from now
    expect(audit).toEqual([1, 2]);
  });

  it('refuses a command routed to a topic', () => {
    expect(() =>
      createSwitchyard({
        transports: { events: bullmqTopic({ topic: 't', prefix, connection: REDIS_URL }) },
        routes: [[Charge, 'events' as never]],
      }),
    ).toThrow(/a topic carries events only/);
  });
});
