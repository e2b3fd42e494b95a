import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { DataPoint, Histogram, ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { BullMQConsumer, BullMQProducer } from '@switchyard/bullmq';
import {
  CommandBus,
  CommandRouter,
  ConfigurationError,
  createSwitchyard,
  defineCommand,
  defineEvent,
  defineQuery,
  handle,
  InMemoryTopic,
  inMemoryTopic,
  installInstrumentation,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { HttpProducer } from '@switchyard/http';
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FailOrder, PlaceOrder, startLocalSide, startRemoteSide } from './harness/scenario.ts';
import { setupTelemetry } from './harness/telemetry.ts';
import { REDIS_URL, transportKit } from './harness/transports.ts';

let telemetry: ReturnType<typeof setupTelemetry>;
beforeEach(() => {
  telemetry = setupTelemetry();
});
afterEach(async () => {
  await telemetry.teardown();
});

function points(metrics: ResourceMetrics, name: string): DataPoint<number | Histogram>[] {
  for (const scope of metrics.scopeMetrics) {
    for (const metric of scope.metrics)
      if (metric.descriptor.name === name) return metric.dataPoints as DataPoint<number | Histogram>[];
  }
  return [];
}

function sum(metrics: ResourceMetrics, name: string, attributes: Record<string, unknown>): number {
  let total = 0;
  for (const point of points(metrics, name)) {
    if (Object.entries(attributes).every(([key, value]) => point.attributes[key] === value)) {
      total += typeof point.value === 'number' ? point.value : point.value.count;
    }
  }
  return total;
}

describe('metrics', () => {
  it('counts sent, consumed and failed messages with durations, and in-flight back at zero', async () => {
    const kit = transportKit('in-memory', 'unused');
    const local = await startLocalSide(kit);
    const remote = await startRemoteSide(kit, local.backAddress, () => undefined);
    local.connect(remote.address);
    try {
      await local.commands.dispatch(PlaceOrder.create({ n: 1 }));
      await local.whenShipped;
      await local.commands.dispatch(FailOrder.create({ n: 2 }));
    } finally {
      await remote.close(); // lets the remote handlers finish
      await local.close();
    }
    const { resourceMetrics } = await telemetry.reader.collect();
    const ok = { 'messaging.system': 'in-memory', 'switchyard.outcome': 'ok' };
    expect(
      sum(resourceMetrics, 'messaging.client.sent.messages', {
        ...ok,
        'messaging.destination.name': 'PlaceOrder',
        'switchyard.message.kind': 'command',
      }),
    ).toBe(1);
    expect(
      sum(resourceMetrics, 'messaging.client.sent.messages', {
        ...ok,
        'messaging.destination.name': 'OrderPlaced',
        'switchyard.message.kind': 'event',
      }),
    ).toBe(1);
    expect(
      sum(resourceMetrics, 'messaging.client.consumed.messages', {
        ...ok,
        'messaging.destination.name': 'PlaceOrder',
      }),
    ).toBe(1);
    const failed = {
      'messaging.system': 'in-memory',
      'messaging.destination.name': 'FailOrder',
      'switchyard.outcome': 'handler',
      'error.type': 'OUT_OF_STOCK',
    };
    expect(sum(resourceMetrics, 'messaging.client.consumed.messages', failed)).toBe(1);
    expect(
      sum(resourceMetrics, 'switchyard.messages.failed', {
        ...failed,
        'messaging.operation.name': 'process',
      }),
    ).toBe(1);
    expect(
      sum(resourceMetrics, 'messaging.client.operation.duration', {
        'messaging.destination.name': 'PlaceOrder',
      }),
    ).toBe(1);
    expect(
      sum(resourceMetrics, 'messaging.process.duration', { 'messaging.destination.name': 'OrderPlaced' }),
    ).toBe(1);
    expect(
      sum(resourceMetrics, 'switchyard.dispatch.duration', {
        'messaging.destination.name': 'ShipOrder',
        'messaging.system': 'switchyard',
      }),
    ).toBe(1);
    const inFlight = points(resourceMetrics, 'switchyard.messages.in_flight');
    expect(inFlight.length).toBeGreaterThan(0);
    for (const point of inFlight) expect(point.value).toBe(0);
  });

  it('counts the dead letters a transport keeps (a BullMQ job that failed for good)', async () => {
    const prefix = `sy-otel-dead-${randomUUID().slice(0, 8)}`;
    const router = new CommandRouter();
    router.route(PlaceOrder).to(() => {
      throw new Error('out of stock');
    });
    const commandBus = new CommandBus();
    commandBus.use(router);
    const consumer = new BullMQConsumer({
      queueName: 'dead',
      prefix,
      connection: REDIS_URL,
      commandBus,
      onError: () => {},
    });
    const producer = new BullMQProducer({ queueName: 'dead', prefix, connection: REDIS_URL, attempts: 1 });
    try {
      await consumer.start();
      await producer.produce(PlaceOrder.create({ n: 1 }));
      const deadline = Date.now() + 10_000;
      let counted = 0;
      while (counted === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const { resourceMetrics } = await telemetry.reader.collect();
        counted = sum(resourceMetrics, 'switchyard.messages.dead_lettered', {
          'messaging.system': 'bullmq',
          'messaging.destination.name': 'PlaceOrder',
        });
      }
      expect(counted).toBe(1);
    } finally {
      await producer.close();
      await consumer.close();
      await new Queue('dead', { prefix, connection: { url: REDIS_URL } }).obliterate({ force: true });
    }
  });
});

describe('spans in detail', () => {
  it('sends the trace context as HTTP headers too', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      request.resume();
      request.on('end', () => response.writeHead(202).end());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const producer = new HttpProducer({ url: `http://127.0.0.1:${port}/`, retry: false });
    try {
      const routes = new CommandRouter();
      routes.route(PlaceOrder).to(producer);
      const bus = new CommandBus();
      bus.use(routes);
      await bus.dispatch(PlaceOrder.create({ n: 1 }));
    } finally {
      await producer.close();
      await new Promise((resolve) => server.close(resolve));
    }
    const send = telemetry.exporter.getFinishedSpans().find((s) => s.name === 'send PlaceOrder')!;
    expect(seen[0]?.traceparent).toBe(`00-${send.spanContext().traceId}-${send.spanContext().spanId}-01`);
  });

  it('marks a dispatch that timed out, and keeps the handler’s dispatches under its span', async () => {
    const Slow = defineCommand<{ n: number }>('Slow');
    const Lookup = defineQuery<{ n: number }, number>('Lookup');
    const queryBus = new QueryBus();
    const finders = new QueryRouter();
    finders.route(Lookup).to(async (query) => query.payload.n);
    queryBus.use(finders);
    const bus = new CommandBus();
    const routes = new CommandRouter();
    routes.route(Slow).to(async (command) => {
      await queryBus.dispatch(Lookup.create({ n: command.payload.n }));
      await new Promise((resolve) => setTimeout(resolve, 100));
    });
    bus.use(routes);
    await expect(bus.dispatch(Slow.create({ n: 1 }), { timeoutMs: 20 })).rejects.toMatchObject({
      code: 'SWITCHYARD_TIMEOUT',
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const spans = telemetry.exporter.getFinishedSpans();
    const slow = spans.find((s) => s.name === 'dispatch Slow')!;
    const lookup = spans.find((s) => s.name === 'dispatch Lookup')!;
    expect(lookup.parentSpanContext?.spanId).toBe(slow.spanContext().spanId);
    expect(lookup.kind).toBe(SpanKind.INTERNAL);
    expect(lookup.attributes['switchyard.bus']).toBe('query');
    expect(slow.status.code).toBe(SpanStatusCode.ERROR);
    expect(slow.attributes['error.type']).toBe('SWITCHYARD_TIMEOUT');
    expect(slow.attributes['switchyard.outcome']).toBe('timeout');
  });

  it('continues the trace of the span active where the root is dispatched', async () => {
    const bus = new CommandBus();
    const routes = new CommandRouter();
    routes.route(PlaceOrder).to(() => undefined);
    bus.use(routes);
    const tracer = telemetry.tracerProvider.getTracer('test');
    await tracer.startActiveSpan('GET /orders', async (request) => {
      await bus.dispatch(PlaceOrder.create({ n: 1 }));
      request.end();
    });
    const spans = telemetry.exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === 'GET /orders')!;
    const dispatch = spans.find((s) => s.name === 'dispatch PlaceOrder')!;
    expect(dispatch.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
  });

  it('names the subscriber group on the CONSUMER span and the process metrics of a topic, and one trace runs from publish to every group', async () => {
    const OrderShipped = defineEvent<{ n: number }>('OrderShipped');
    const topic = new InMemoryTopic();
    const received: string[] = [];
    const subscriber = (group: string) =>
      createSwitchyard({
        transports: { orders: inMemoryTopic({ topic, subscriber: { group } }) },
        routes: [[OrderShipped, 'orders']],
        handlers: [handle(OrderShipped, () => void received.push(group))],
      });
    const billing = subscriber('billing');
    const audit = subscriber('audit');
    const shop = createSwitchyard({
      transports: { orders: inMemoryTopic({ topic }) },
      routes: [[OrderShipped, 'orders']],
    });
    await Promise.all([billing.start(), audit.start(), shop.start()]);
    try {
      await shop.eventBus.dispatch(OrderShipped.create({ n: 1 }));
      await expect.poll(() => received.length).toBe(2);
      await expect
        .poll(
          () => telemetry.exporter.getFinishedSpans().filter((s) => s.name === 'process OrderShipped').length,
        )
        .toBe(2);
    } finally {
      await Promise.all([billing.close(), audit.close(), shop.close()]);
    }
    const spans = telemetry.exporter.getFinishedSpans();
    const send = spans.find((s) => s.name === 'send OrderShipped')!;
    const processes = spans.filter((s) => s.name === 'process OrderShipped');
    expect(processes.map((s) => s.attributes['messaging.consumer.group.name']).sort()).toEqual([
      'audit',
      'billing',
    ]);
    for (const process of processes) {
      expect(process.kind).toBe(SpanKind.CONSUMER);
      expect(process.spanContext().traceId).toBe(send.spanContext().traceId);
      expect(process.parentSpanContext?.spanId).toBe(send.spanContext().spanId);
    }
    // A point-to-point consumer names no group.
    expect(send.attributes['messaging.consumer.group.name']).toBeUndefined();
    // The process metrics name the group too: one consumed event per group, none without a group.
    const { resourceMetrics } = await telemetry.reader.collect();
    const consumed = { 'messaging.destination.name': 'OrderShipped', 'switchyard.outcome': 'ok' };
    for (const group of ['billing', 'audit']) {
      const ofGroup = { ...consumed, 'messaging.consumer.group.name': group };
      expect(sum(resourceMetrics, 'messaging.client.consumed.messages', ofGroup)).toBe(1);
      expect(sum(resourceMetrics, 'messaging.process.duration', ofGroup)).toBe(1);
    }
    const groups = points(resourceMetrics, 'messaging.client.consumed.messages').map(
      (point) => point.attributes['messaging.consumer.group.name'],
    );
    expect(groups.sort()).toEqual(['audit', 'billing']);
    const sent = points(resourceMetrics, 'messaging.client.sent.messages');
    expect(sent.length).toBeGreaterThan(0);
    for (const point of sent) expect(point.attributes['messaging.consumer.group.name']).toBeUndefined();
  });

  it('allows one instrumentation at a time', () => {
    expect(() => installInstrumentation({})).toThrow(ConfigurationError);
  });
});
