import { waitFor } from '@switchyard/conformance';
import {
  type AnyMessage,
  defineCommand,
  defineEvent,
  defineQuery,
  EventBus,
  EventRouter,
} from '@switchyard/core';
import type { ZeroMQTopicPublisher } from '../src/index.ts';

/** Events of the topic tests; a process test's publisher publishes Tick every few ms. */
export const Tick = defineEvent<{ n: number }>('topic-test.Tick');
export const Probe = defineEvent<{ n: number }>('topic-test.Probe');
export const Order = defineEvent<{ n: number }>('topic-test.Order');
export const OrderPlaced = defineEvent<{ n: number }>('topic-test.OrderPlaced');
export const InvoiceSent = defineEvent<{ n: number }>('topic-test.billing.invoice.sent');
export const BillingX = defineEvent<{ n: number }>('topic-test.billingX');
export const Ship = defineCommand<{ n: number }>('topic-test.Ship');
export const CountShipped = defineQuery<{ n: number }, number>('topic-test.CountShipped');

const ALL = [Tick, Probe, Order, OrderPlaced, InvoiceSent, BillingX];

/** An event bus recording every event it is handed (all the events above are routed). */
export function recordingBus(): { bus: EventBus; received: AnyMessage[]; of(name: string): number[] } {
  const received: AnyMessage[] = [];
  const router = new EventRouter();
  for (const definition of ALL) {
    router.route(definition).to((event: AnyMessage) => {
      received.push(event);
    });
  }
  const bus = new EventBus();
  bus.use(router);
  const of = (name: string) =>
    received.filter((event) => event.name === name).map((event) => (event.payload as { n: number }).n);
  return { bus, received, of };
}

/**
 * Publishes probes until `received` holds one: the subscriber is connected and its subscription
 * has reached the publisher (ZeroMQ's slow joiner), so what is published next reaches it.
 */
export async function untilJoined(
  publisher: ZeroMQTopicPublisher,
  received: readonly AnyMessage[],
  timeoutMs = 10_000,
): Promise<void> {
  let n = 0;
  await waitFor(
    async () => {
      if (received.some((event) => event.name === Probe.name)) return true;
      await publisher.produce(Probe.create({ n: n++ }));
      await new Promise((resolve) => setTimeout(resolve, 10));
      return false;
    },
    timeoutMs,
    'the subscriber to join',
  );
}

/** `first`, `first + 1`, … `first + count - 1`. */
export function range(first: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => first + i);
}
