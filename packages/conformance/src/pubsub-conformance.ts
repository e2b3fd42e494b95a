import {
  type AnyMessage,
  defineCommand,
  defineEvent,
  defineQuery,
  type ErrorContext,
  EventBus,
  EventRouter,
  type MessageProducer,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { sleep, waitFor } from './wait-for.ts';

/** The events (and a command and a query, which a topic must refuse) the pub/sub section sends. */
export const PubSubFixtures = {
  UserRegistered: defineEvent<{ n: number }>('conformance.pubsub.UserRegistered'),
  OrderPlaced: defineEvent<{ n: number }>('conformance.pubsub.OrderPlaced'),
  OrderShipped: defineEvent<{ n: number }>('conformance.pubsub.OrderShipped'),
  NotAnEvent: defineCommand<{ n: number }>('conformance.pubsub.NotAnEvent'),
  NotAQuery: defineQuery<{ n: number }, number>('conformance.pubsub.NotAQuery'),
} as const;

/** A publisher as the section drives it: a fan-out `MessageProducer` with the core lifecycle. */
export interface PubSubPublisher extends MessageProducer {
  start(): Promise<unknown>;
}

/** A subscriber as the section drives it. */
export interface PubSubSubscriber {
  start(): Promise<unknown>;
  close(): Promise<void>;
}

/** What the publisher must be given (spread it into its options). */
export interface PubSubPublisherSettings {
  readonly onError: (error: unknown, context: ErrorContext) => void;
  readonly closeTimeoutMs: number;
  readonly sendTimeoutMs: number;
}

/** What a subscriber must be given (spread it into its options). */
export interface PubSubSubscriberSettings {
  /** The subscriber group. */
  readonly group: string;
  /** The event names or `*` patterns the group subscribes to. */
  readonly events: readonly string[];
  /** Where arriving events go. */
  readonly eventBus: EventBus;
  readonly onError: (error: unknown, context: ErrorContext) => void;
  readonly closeTimeoutMs: number;
}

/** What to run the pub/sub contract against. */
export interface PubSubConformanceOptions {
  /** Shown in the test names, e.g. `"bullmq topic"`. */
  readonly name: string;
  /**
   * Subscriptions are durable: a group keeps receiving across restarts (what was published while it
   * was down arrives when it is back) and a new group starts from "now". False (ZeroMQ PUB/SUB):
   * at most once, subscribers receive while connected.
   */
  readonly durable: boolean;
  /** Consumers of one group compete for its events (each goes to one of them). */
  readonly competing: boolean;
  /**
   * Creates a publisher, not started, on the topic of this test. Called once per test; `topic` is
   * unique per test so tests never see each other's events.
   */
  createPublisher(topic: string, settings: PubSubPublisherSettings): Promise<PubSubPublisher>;
  /** Creates a subscriber (not started) of `topic` in `settings.group`. */
  createSubscriber(topic: string, settings: PubSubSubscriberSettings): Promise<PubSubSubscriber>;
  /** Removes what one test's topic left behind (keys, rows); runs after everything closed. */
  cleanup?(topic: string): Promise<void>;
  /**
   * How long to wait after subscribers started before publishing, for transports where a
   * subscription takes effect asynchronously (ZeroMQ's slow joiner).
   * @default 0
   */
  readonly settleMs?: number;
  /** Per-test timeout in ms. @default 30_000 */
  readonly testTimeoutMs?: number;
}

/** Events one subscriber received, in arrival order. */
interface Inbox {
  readonly bus: EventBus;
  readonly received: AnyMessage[];
}

function inbox(): Inbox {
  const received: AnyMessage[] = [];
  const router = new EventRouter();
  for (const definition of [
    PubSubFixtures.UserRegistered,
    PubSubFixtures.OrderPlaced,
    PubSubFixtures.OrderShipped,
  ]) {
    router.route(definition).to((event: AnyMessage) => {
      received.push(event);
    });
  }
  const bus = new EventBus();
  bus.use(router);
  return { bus, received };
}

let topics = 0;

/**
 * Registers the publish-subscribe contract as a vitest suite, for a transport that fans out
 * (`capabilities.fanOut`): every group gets every event once, consumers of a group compete, event
 * patterns filter, commands and queries are refused, and — for durable topics — a group survives
 * restarts and a new group starts from "now".
 *
 * @example
 * describePubSubConformance({
 *   name: 'bullmq topic',
 *   durable: true,
 *   competing: true,
 *   createPublisher: async (topic, settings) => new BullMQTopicPublisher({ topic, connection, ...settings }),
 *   createSubscriber: async (topic, settings) => new BullMQTopicSubscriber({ topic, connection, ...settings }),
 * });
 */
export function describePubSubConformance(options: PubSubConformanceOptions): void {
  const timeout = options.testTimeoutMs ?? 30_000;
  const { UserRegistered, OrderPlaced, OrderShipped } = PubSubFixtures;
  const all = [UserRegistered.name, OrderPlaced.name, OrderShipped.name];

  describe(`${options.name} pub/sub conformance`, () => {
    const closers: (() => Promise<void>)[] = [];
    const errors: unknown[] = [];
    const onError = (error: unknown) => {
      errors.push(error);
    };

    afterEach(async () => {
      for (const close of closers.splice(0).reverse()) await close();
      errors.length = 0;
    });

    const newTopic = (): string => {
      const topic = `sy-conf-${process.pid}-${Date.now().toString(36)}-${++topics}`;
      if (options.cleanup !== undefined) closers.push(() => options.cleanup!(topic));
      return topic;
    };
    const publisher = async (topic: string): Promise<PubSubPublisher> => {
      const created = await options.createPublisher(topic, {
        onError,
        closeTimeoutMs: 5_000,
        sendTimeoutMs: 5_000,
      });
      closers.push(() => created.close());
      await created.start();
      return created;
    };
    const subscriber = async (
      topic: string,
      group: string,
      events: readonly string[],
      box: Inbox = inbox(),
    ): Promise<{ box: Inbox; sub: PubSubSubscriber }> => {
      const sub = await options.createSubscriber(topic, {
        group,
        events,
        eventBus: box.bus,
        onError,
        closeTimeoutMs: 5_000,
      });
      closers.push(() => sub.close());
      await sub.start();
      return { box, sub };
    };
    const settle = () => sleep(options.settleMs ?? 0);
    const publishAll = async (producer: PubSubPublisher, count: number, first = 0) => {
      await Promise.all(
        Array.from({ length: count }, (_, i) => producer.produce(UserRegistered.create({ n: first + i }))),
      );
    };
    const numbers = (box: Inbox) => box.received.map((event) => (event.payload as { n: number }).n);
    const exactlyOnce = (received: number[], count: number, first = 0) => {
      expect(received.length).toBe(count);
      expect(new Set(received).size).toBe(count);
      expect(Math.min(...received)).toBe(first);
      expect(Math.max(...received)).toBe(first + count - 1);
    };

    it('declares fanOut and refuses commands and queries', { timeout }, async () => {
      const producer = await publisher(newTopic());
      expect(producer.capabilities.fanOut).toBe(true);
      expect(producer.capabilities.replies).toBe(false);
      for (const message of [
        PubSubFixtures.NotAnEvent.create({ n: 1 }),
        PubSubFixtures.NotAQuery.create({ n: 1 }),
      ]) {
        const error = await producer.produce(message).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error, `${message.kind} must be refused`).toBeInstanceOf(Error);
        expect((error as { code?: string }).code).toMatch(
          /^SWITCHYARD_(INVALID_MESSAGE|INVALID_CONFIGURATION)$/,
        );
      }
    });

    it('publishing with no subscriber resolves', { timeout }, async () => {
      const producer = await publisher(newTopic());
      await expect(producer.produce(UserRegistered.create({ n: 1 }))).resolves.toBeUndefined();
    });

    it('every group gets every event once', { timeout }, async () => {
      const topic = newTopic();
      const a = await subscriber(topic, 'group-a', all);
      const b = await subscriber(topic, 'group-b', [UserRegistered.name]);
      await settle();
      const producer = await publisher(topic);
      await publishAll(producer, 200);
      await waitFor(() => a.box.received.length >= 200 && b.box.received.length >= 200, timeout - 2_000);
      await sleep(200); // nothing more arrives
      exactlyOnce(numbers(a.box), 200);
      exactlyOnce(numbers(b.box), 200);
      expect(errors).toEqual([]);
    });

    it.skipIf(!options.competing)(
      'the consumers of one group compete: each event reaches one of them',
      { timeout },
      async () => {
        const topic = newTopic();
        const shared = inbox();
        await subscriber(topic, 'workers', all, shared);
        const second = await subscriber(topic, 'workers', all);
        await settle();
        const producer = await publisher(topic);
        await publishAll(producer, 300);
        await waitFor(() => shared.received.length + second.box.received.length >= 300, timeout - 2_000);
        await sleep(200);
        exactlyOnce([...numbers(shared), ...numbers(second.box)], 300);
      },
    );

    it('a group receives only the events its names and patterns select', { timeout }, async () => {
      const topic = newTopic();
      const orders = await subscriber(topic, 'orders', ['conformance.pubsub.Order*']);
      const users = await subscriber(topic, 'users', [UserRegistered.name]);
      await settle();
      const producer = await publisher(topic);
      await producer.produce(UserRegistered.create({ n: 1 }));
      await producer.produce(OrderPlaced.create({ n: 2 }));
      await producer.produce(OrderShipped.create({ n: 3 }));
      await waitFor(() => orders.box.received.length >= 2 && users.box.received.length >= 1, timeout - 2_000);
      await sleep(200);
      expect(orders.box.received.map((e) => e.name)).toEqual([OrderPlaced.name, OrderShipped.name]);
      expect(users.box.received.map((e) => e.name)).toEqual([UserRegistered.name]);
      expect(errors).toEqual([]);
    });

    it('an arriving event keeps its id, name, payload and creation time', { timeout }, async () => {
      const topic = newTopic();
      const a = await subscriber(topic, 'fidelity', all);
      await settle();
      const producer = await publisher(topic);
      const sent = OrderPlaced.create({ n: 42 });
      await producer.produce(sent);
      await waitFor(() => a.box.received.length >= 1, timeout - 2_000);
      const [got] = a.box.received;
      expect(got?.id).toBe(sent.id);
      expect(got?.name).toBe(sent.name);
      expect(got?.kind).toBe('event');
      expect(got?.payload).toEqual({ n: 42 });
      expect(got?.createdAt).toBe(sent.createdAt);
    });

    it.skipIf(!options.durable)(
      'a new group starts from now: it does not get events published before it subscribed',
      { timeout },
      async () => {
        const topic = newTopic();
        const early = await subscriber(topic, 'early', all);
        const producer = await publisher(topic);
        await publishAll(producer, 20);
        await waitFor(() => early.box.received.length >= 20, timeout - 2_000);
        const late = await subscriber(topic, 'late', all);
        await publishAll(producer, 20, 100);
        await waitFor(
          () => early.box.received.length >= 40 && late.box.received.length >= 20,
          timeout - 2_000,
        );
        await sleep(200);
        exactlyOnce(numbers(late.box), 20, 100);
      },
    );

    it.skipIf(!options.durable)(
      'a group survives a restart: what was published while it was down arrives',
      { timeout },
      async () => {
        const topic = newTopic();
        const first = await subscriber(topic, 'restarts', all);
        const producer = await publisher(topic);
        await publishAll(producer, 10);
        await waitFor(() => first.box.received.length >= 10, timeout - 2_000);
        await first.sub.close();
        await publishAll(producer, 30, 10);
        const again = await subscriber(topic, 'restarts', all);
        await waitFor(() => again.box.received.length >= 30, timeout - 2_000);
        await sleep(200);
        exactlyOnce(numbers(first.box), 10);
        exactlyOnce(numbers(again.box), 30, 10);
      },
    );

    it.skipIf(options.durable)(
      'at most once: a subscriber receives only while it is connected',
      { timeout },
      async () => {
        const topic = newTopic();
        const producer = await publisher(topic);
        await publishAll(producer, 10); // nobody listens: gone
        const a = await subscriber(topic, 'live', all);
        await settle();
        await publishAll(producer, 10, 100);
        await waitFor(() => a.box.received.length >= 10, timeout - 2_000);
        await sleep(200);
        exactlyOnce(numbers(a.box), 10, 100);
      },
    );
  });
}
