import { fileURLToPath } from 'node:url';
import { type StartedProcess, sleep, startProcess, waitFor } from '@switchyard/conformance';
import {
  type AnyMessage,
  createSwitchyard,
  defineCommand,
  defineEvent,
  ErrorCode,
  EventBus,
  EventRouter,
  eventMatcher,
  handle,
  isSwitchyardError,
} from '@switchyard/core';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  PostgresTopicPublisher,
  PostgresTopicSubscriber,
  type PostgresTopicSubscriberOptions,
  postgresTopic,
  topicQueueName,
  unsubscribeTopicGroup,
} from '../src/index.ts';
import { likePatterns } from '../src/postgres-topic-sql.ts';
import { dropSchema, migratedSchema, PG_URL, testPool } from './pg-test-kit.ts';

const Happened = defineEvent<{ n: number }>('topic.Happened');
const Other = defineEvent<{ n: number }>('topic.Other');
const Failing = defineEvent<{ n: number }>('topic.Failing');
const Work = defineCommand<{ n: number }>('topic.Work');

const pool = testPool(4);
let schema = '';
let topics = 0;
const closers: (() => Promise<void>)[] = [];
const children: StartedProcess[] = [];

beforeAll(async () => {
  schema = await migratedSchema(pool, 'topic');
  await pool.query(
    `CREATE TABLE "${schema}".topic_handled (grp text NOT NULL, message_id text NOT NULL, n integer NOT NULL, by text NOT NULL)`,
  );
});
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  for (const child of children.splice(0)) {
    if (child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGKILL');
      await child.exited();
    }
  }
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

const newTopic = () => `t${++topics}-${process.pid}`;

function publisher(topic: string): PostgresTopicPublisher {
  const created = new PostgresTopicPublisher({ connection: PG_URL, schema, topic });
  closers.push(() => created.close());
  return created;
}

/** A subscriber in this process, with a pool of its own, recording what it handled. */
function subscriber(
  topic: string,
  group: string,
  options: Partial<PostgresTopicSubscriberOptions> & { label?: string; record?: boolean } = {},
) {
  const received: AnyMessage[] = [];
  const errors: { error: unknown; context: Record<string, unknown> }[] = [];
  const router = new EventRouter();
  for (const definition of [Happened, Other]) {
    router.route(definition).to(async (event: AnyMessage) => {
      received.push(event);
      if (options.record === true) {
        await pool.query(
          `INSERT INTO "${schema}".topic_handled (grp, message_id, n, by) VALUES ($1, $2, $3, $4)`,
          [group, event.id, (event.payload as { n: number }).n, options.label ?? 'here'],
        );
      }
    });
  }
  router.route(Failing).to(() => {
    throw new Error('always fails');
  });
  const eventBus = new EventBus();
  eventBus.use(router);
  const sub = new PostgresTopicSubscriber({
    connection: PG_URL,
    schema,
    topic,
    group,
    events: ['topic.*'],
    eventBus,
    onError: (error, context) => errors.push({ error, context }),
    ...options,
  });
  closers.push(() => sub.close());
  return { sub, received, errors };
}

function startChild(env: Record<string, string>): Promise<StartedProcess> {
  const script = fileURLToPath(new URL('./fixtures/topic-subscriber.ts', import.meta.url));
  return startProcess(script, { env: { PG_URL, SCHEMA: schema, ...env }, timeoutMs: 30_000 }).then(
    (started) => {
      children.push(started);
      return started;
    },
  );
}

async function handled(
  topicGroup: string,
): Promise<{ distinct: number; total: number; by: Record<string, number> }> {
  const result = await pool.query<{ by: string; distinct: number; total: number }>(
    `SELECT by, count(DISTINCT message_id)::integer AS distinct, count(*)::integer AS total
     FROM "${schema}".topic_handled WHERE grp = $1 GROUP BY ROLLUP (by)`,
    [topicGroup],
  );
  const all = result.rows.find((row) => row.by === null);
  const by: Record<string, number> = {};
  for (const row of result.rows) if (row.by !== null) by[row.by] = row.total;
  return { distinct: all?.distinct ?? 0, total: all?.total ?? 0, by };
}

async function queued(topic: string, group: string): Promise<number> {
  const result = await pool.query<{ n: number }>(
    `SELECT count(*)::integer AS n FROM "${schema}".queue_messages WHERE queue = $1`,
    [topicQueueName(topic, group)],
  );
  return result.rows[0]?.n ?? 0;
}

const publishAll = (producer: PostgresTopicPublisher, count: number, first = 0) =>
  Promise.all(Array.from({ length: count }, (_, i) => producer.produce(Happened.create({ n: first + i }))));

describe('PostgreSQL topics', () => {
  it('subscribers of a new group that start at the same moment all start (the subscription is created once)', async () => {
    // The race is timing-bound: without the retry, 25 rounds of 8 hit it in about two runs of three.
    for (let round = 0; round < 25; round++) {
      const topic = newTopic();
      const group = `together-${topic}`;
      const subscribers = Array.from({ length: 8 }, (_, i) => subscriber(topic, group, { label: `s${i}` }));
      await Promise.all(subscribers.map(({ sub }) => sub.start()));
      const rows = await pool.query<{ n: number }>(
        `SELECT count(*)::integer AS n FROM "${schema}".topic_subscriptions WHERE topic = $1 AND group_name = $2`,
        [topic, group],
      );
      expect(rows.rows[0]?.n).toBe(1);
      const producer = publisher(topic);
      await producer.produce(Happened.create({ n: round }));
      await waitFor(
        () => subscribers.reduce((sum, { received }) => sum + received.length, 0) === 1,
        10_000,
        'the event, once',
      );
      for (const { errors } of subscribers) expect(errors).toEqual([]);
      // Each round's connections go now, not after the test (PostgreSQL's connection limit).
      await Promise.all([producer.close(), ...subscribers.map(({ sub }) => sub.close())]);
    }
  });

  it('three groups × 2,000 events: each group gets every event once; two groups have two competing subscribers (one group in two processes)', {
    timeout: 120_000,
  }, async () => {
    const topic = newTopic();
    const groups = { solo: `solo-${topic}`, procs: `procs-${topic}`, pools: `pools-${topic}` };
    const solo = subscriber(topic, groups.solo, { record: true, label: 'solo', concurrency: 16 });
    const poolsA = subscriber(topic, groups.pools, { record: true, label: 'a' });
    const poolsB = subscriber(topic, groups.pools, { record: true, label: 'b' });
    await Promise.all([solo.sub.start(), poolsA.sub.start(), poolsB.sub.start()]);
    await Promise.all(
      ['p1', 'p2'].map((label) =>
        startChild({ TOPIC: topic, GROUP: groups.procs, LABEL: label, HANDLER_DELAY_MS: '1' }),
      ),
    );
    const producer = publisher(topic);
    await publishAll(producer, 2_000);
    for (const group of Object.values(groups)) {
      await waitFor(async () => (await handled(group)).distinct >= 2_000, 90_000, `group ${group}`);
    }
    await sleep(300); // a duplicate would show up here
    for (const group of Object.values(groups)) {
      const counts = await handled(group);
      expect(counts, group).toMatchObject({ distinct: 2_000, total: 2_000 });
      expect(await queued(topic, group)).toBe(0);
    }
    // Both processes and both pooled subscribers took part.
    const procs = await handled(groups.procs);
    expect(procs.by.p1).toBeGreaterThan(0);
    expect(procs.by.p2).toBeGreaterThan(0);
    const pools = await handled(groups.pools);
    expect(pools.by.a).toBeGreaterThan(0);
    expect(pools.by.b).toBeGreaterThan(0);
    expect([...solo.errors, ...poolsA.errors, ...poolsB.errors]).toEqual([]);
  });

  it('a SIGKILLed group worker loses nothing: its leased events go to the group’s other subscriber; other groups are untouched', {
    timeout: 120_000,
  }, async () => {
    const topic = newTopic();
    const group = `crash-${topic}`;
    const bystander = `bystander-${topic}`;
    const other = subscriber(topic, bystander, { record: true });
    await other.sub.start();
    const worker = await startChild({
      TOPIC: topic,
      GROUP: group,
      LABEL: 'child',
      HANDLER_DELAY_MS: '5',
      LEASE_MS: '1000',
    });
    const producer = publisher(topic);
    await publishAll(producer, 2_000);
    await waitFor(async () => (await handled(group)).total >= 200, 30_000, 'the child to be mid-stream');
    worker.child.kill('SIGKILL');
    await worker.exited();
    const atKill = await handled(group);
    expect(atKill.distinct).toBeLessThan(2_000);
    const held = await pool.query<{ n: number }>(
      `SELECT count(*)::integer AS n FROM "${schema}".queue_messages WHERE queue = $1 AND state = 'running'`,
      [topicQueueName(topic, group)],
    );
    expect(held.rows[0]!.n).toBeGreaterThan(0);

    const second = subscriber(topic, group, {
      record: true,
      label: 'second',
      concurrency: 16,
      leaseMs: 1_000,
      stalledIntervalMs: 300,
    });
    await second.sub.start();
    await waitFor(async () => (await handled(group)).distinct >= 2_000, 60_000, 'all 2,000 events');
    await waitFor(async () => (await queued(topic, group)) === 0, 10_000, 'the group queue to be empty');
    const final = await handled(group);
    // At least once: what the child was running when killed may run twice, nothing more.
    expect(final.total - final.distinct).toBeLessThanOrEqual(held.rows[0]!.n);
    await waitFor(async () => (await handled(bystander)).distinct >= 2_000, 30_000, 'the other group');
    expect(await handled(bystander)).toMatchObject({ distinct: 2_000, total: 2_000 });
  });

  it('a new group does not get older events; the publisher, started before the group existed, is unchanged', async () => {
    const topic = newTopic();
    const producer = publisher(topic);
    await producer.start();
    const early = subscriber(topic, 'early');
    await early.sub.start();
    await publishAll(producer, 10);
    await waitFor(() => early.received.length >= 10, 10_000, 'the early group');
    expect(await queued(topic, 'late')).toBe(0);
    const late = subscriber(topic, 'late');
    await late.sub.start();
    await sleep(200);
    expect(late.received).toEqual([]); // nothing from before it subscribed
    await publishAll(producer, 10, 100); // the same publisher instance
    await waitFor(() => late.received.length >= 10 && early.received.length >= 20, 10_000, 'both groups');
    await sleep(200);
    expect(late.received.map((event) => (event.payload as { n: number }).n).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 10 }, (_, i) => 100 + i),
    );
  });

  it('a group’s subscription survives a restart: what was published while it was down arrives', async () => {
    const topic = newTopic();
    const first = subscriber(topic, 'restarts');
    await first.sub.start();
    await first.sub.close();
    const producer = publisher(topic);
    await publishAll(producer, 25);
    expect(await queued(topic, 'restarts')).toBe(25); // kept for the group while nobody consumes
    const again = subscriber(topic, 'restarts');
    await again.sub.start();
    await waitFor(() => again.received.length >= 25, 10_000, 'the events published while down');
    await sleep(200);
    expect(new Set(again.received.map((event) => event.id)).size).toBe(25);
  });

  it('names and * patterns select events; %, _ and \\ in names are literal', async () => {
    const topic = newTopic();
    const names = ['a.b', 'a_b', 'axb', 'a%b', 'a\\b', 'order.placed', 'order.shipped', 'orders'];
    const definitions = names.map((name) => defineEvent<{ n: number }>(name));
    const groups: Record<string, readonly string[]> = {
      underscore: ['a_b'],
      percent: ['a%b'],
      backslash: ['a\\b'],
      dotted: ['order.*'],
      prefix: ['order*'],
      star: ['*'],
      inner: ['a*b', 'nothing'],
    };
    const got: Record<string, string[]> = {};
    for (const [group, events] of Object.entries(groups)) {
      got[group] = [];
      const router = new EventRouter();
      for (const definition of definitions) {
        router.route(definition).to((event: AnyMessage) => {
          got[group]!.push(event.name);
        });
      }
      const eventBus = new EventBus();
      eventBus.use(router);
      const sub = new PostgresTopicSubscriber({ connection: PG_URL, schema, topic, group, events, eventBus });
      closers.push(() => sub.close());
      await sub.start();
    }
    const producer = publisher(topic);
    for (const definition of definitions) await producer.produce(definition.create({ n: 1 }));
    const expected = Object.fromEntries(
      Object.entries(groups).map(([group, events]) => [group, names.filter(eventMatcher(events))]),
    );
    const total = Object.values(expected).reduce((sum, list) => sum + list.length, 0);
    await waitFor(
      () => Object.values(got).reduce((sum, list) => sum + list.length, 0) >= total,
      10_000,
      'every matching event',
    );
    await sleep(200);
    for (const group of Object.keys(groups))
      expect([...got[group]!].sort(), group).toEqual([...expected[group]!].sort());
    expect(expected.underscore).toEqual(['a_b']);
    expect(expected.inner).toEqual(['a.b', 'a_b', 'axb', 'a%b', 'a\\b']);
  });

  it('matches in SQL exactly as core’s eventMatcher does (property)', async () => {
    const chars = fc.constantFrom('a', 'b', '.', '*', '%', '_', '\\', 'é', '\n');
    const text = fc.array(chars, { maxLength: 6 }).map((list) => list.join(''));
    const cases = fc.sample(
      fc.record({
        patterns: fc.array(
          text.filter((value) => value.length > 0),
          { minLength: 1, maxLength: 3 },
        ),
        name: text.map((value) => value.replaceAll('*', 'a')),
      }),
      { numRuns: 400, seed: 13 },
    );
    const result = await pool.query<{ i: number; matched: boolean }>(
      `SELECT c.i::integer AS i, EXISTS (SELECT 1 FROM unnest(c.patterns) AS p(pattern) WHERE c.name LIKE p.pattern) AS matched
       FROM jsonb_to_recordset($1::jsonb) AS c(i integer, name text, patterns text[])`,
      [JSON.stringify(cases.map((c, i) => ({ i, name: c.name, patterns: likePatterns(c.patterns) })))],
    );
    for (const row of result.rows) {
      const c = cases[row.i]!;
      expect(row.matched, JSON.stringify(c)).toBe(eventMatcher(c.patterns)(c.name));
    }
    expect(result.rows).toHaveLength(cases.length);
  });

  it('an event in the group’s queue that its events no longer select is acknowledged and skipped', async () => {
    const topic = newTopic();
    const only = subscriber(topic, 'narrow', { events: [Happened.name] });
    await only.sub.start();
    // Another deploy of the group widened the subscription; this subscriber still has the old one.
    await pool.query(
      `UPDATE "${schema}".topic_subscriptions SET patterns = ARRAY['%'] WHERE topic = $1 AND group_name = 'narrow'`,
      [topic],
    );
    const producer = publisher(topic);
    await producer.produce(Other.create({ n: 1 }));
    await producer.produce(Happened.create({ n: 2 }));
    await waitFor(() => only.received.length >= 1, 10_000, 'the selected event');
    await waitFor(
      async () => (await queued(topic, 'narrow')) === 0,
      10_000,
      'the skipped event to be acknowledged',
    );
    expect(only.received.map((event) => event.name)).toEqual([Happened.name]);
    expect(only.errors).toEqual([]);
  });

  it('a group’s failing events become its dead letters (other groups unaffected); replay goes back to that group only', async () => {
    const topic = newTopic();
    const failing = subscriber(topic, 'failing', { attempts: 2, backoff: 20 });
    const fine = subscriber(topic, 'fine', { events: [Happened.name] });
    await Promise.all([failing.sub.start(), fine.sub.start()]);
    const producer = publisher(topic);
    const event = Failing.create({ n: 7 });
    await producer.produce(event);
    await producer.produce(Happened.create({ n: 8 }));
    const deadLetters = failing.sub.deadLetters();
    closers.push(() => deadLetters.close());
    await waitFor(async () => (await deadLetters.count()) === 1, 10_000, 'the dead letter');
    const [letter] = await deadLetters.list();
    expect(letter).toMatchObject({ messageId: event.id, name: Failing.name, attemptsMade: 2 });
    expect(letter!.message?.id).toBe(event.id);
    expect(failing.errors.map((entry) => (entry.context.row as { fate: string }).fate)).toEqual([
      'retry',
      'dead-letter',
    ]);
    await waitFor(() => fine.received.length >= 1, 10_000, 'the other group');
    expect(await queued(topic, 'fine')).toBe(0);
    expect(await deadLetters.replay(event.id)).toBe(true);
    await waitFor(
      async () => (await deadLetters.count()) === 1 && failing.errors.length === 4,
      10_000,
      'a second round',
    );
    expect(await queued(topic, 'fine')).toBe(0);
    expect(await deadLetters.purge()).toBe(1);
  });

  it('unsubscribeTopicGroup stops the copies and drops what the group had', async () => {
    const topic = newTopic();
    const gone = subscriber(topic, 'gone');
    await gone.sub.start();
    await gone.sub.close();
    const producer = publisher(topic);
    await publishAll(producer, 5);
    expect(await queued(topic, 'gone')).toBe(5);
    expect(await unsubscribeTopicGroup(pool, { schema, topic, group: 'gone' })).toEqual({
      subscriptions: 1,
      messages: 5,
    });
    await publishAll(producer, 5, 5);
    expect(await queued(topic, 'gone')).toBe(0);
  });

  it('refuses commands at the publisher and checks group, events and topic', async () => {
    const producer = publisher(newTopic());
    const error = await producer.produce(Work.create({ n: 1 })).catch((caught: unknown) => caught);
    expect(isSwitchyardError(error)).toBe(true);
    expect(producer.capabilities).toMatchObject({
      fanOut: true,
      replies: false,
      durable: true,
      delivery: ['delayMs'],
    });
    const eventBus = new EventBus();
    for (const options of [
      { topic: 'x', group: 'bad group', events: ['a'] },
      { topic: 'x', group: 'g', events: [] },
      { topic: 'x', group: 'g' },
      { topic: 'a/b', group: 'g', events: ['a'] },
      { topic: '', group: 'g', events: ['a'] },
    ]) {
      expect(
        () => new PostgresTopicSubscriber({ connection: PG_URL, schema, eventBus, ...options }),
        JSON.stringify(options),
      ).toThrow(expect.objectContaining({ code: ErrorCode.InvalidConfiguration }));
    }
  });

  it('a delayed publish reaches each group no sooner than its delay', async () => {
    const topic = newTopic();
    const sub = subscriber(topic, 'delayed', { pollIntervalMs: 100 });
    await sub.sub.start();
    const producer = publisher(topic);
    const sent = Date.now();
    await producer.produce(Happened.create({ n: 1 }), { delivery: { delayMs: 800 } });
    const row = await pool.query<{ ms: number }>(
      `SELECT (EXTRACT(EPOCH FROM run_at - created_at) * 1000)::double precision AS ms
       FROM "${schema}".queue_messages WHERE queue = $1`,
      [topicQueueName(topic, 'delayed')],
    );
    expect(row.rows[0]!.ms).toBeCloseTo(800, 3);
    await sleep(300);
    expect(sub.received).toEqual([]);
    await waitFor(() => sub.received.length === 1, 10_000, 'the delayed event');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(790);
  });

  it('with createSwitchyard: a subscriber process subscribes to the events it handles; the publisher’s own listeners run at publish', async () => {
    const topic = newTopic();
    const handledHere: string[] = [];
    const subscriberApp = createSwitchyard({
      transports: {
        orders: postgresTopic({ connection: PG_URL, schema, topic, subscriber: { group: 'app' } }),
      },
      routes: { [Happened.name]: 'orders' },
      handlers: [
        handle(Happened, (event) => {
          handledHere.push(`subscriber:${event.payload.n}`);
        }),
      ],
    });
    closers.push(() => subscriberApp.close());
    await subscriberApp.start();
    const subscription = await pool.query(
      `SELECT events FROM "${schema}".topic_subscriptions WHERE topic = $1 AND group_name = 'app'`,
      [topic],
    );
    expect(subscription.rows[0].events).toEqual([Happened.name]); // default: the events it handles
    const publisherApp = createSwitchyard({
      transports: { orders: postgresTopic({ connection: PG_URL, schema, topic }) },
      routes: { [Happened.name]: 'orders' },
      handlers: [
        handle(Happened, (event) => {
          handledHere.push(`publisher:${event.payload.n}`);
        }),
      ],
    });
    closers.push(() => publisherApp.close());
    await publisherApp.start();
    await publisherApp.eventBus.dispatch(Happened.create({ n: 5 }));
    await waitFor(() => handledHere.length >= 2, 10_000, 'both listeners');
    await sleep(200);
    expect(handledHere.sort()).toEqual(['publisher:5', 'subscriber:5']);
    // The group's dead letters are the subscriber app's (none here); the publisher keeps none.
    expect(subscriberApp.deadLetters.transports).toEqual(['orders']);
    expect(await subscriberApp.deadLetters.count('orders')).toBe(0);
    expect(publisherApp.deadLetters.transports).toEqual([]);
  });
});
