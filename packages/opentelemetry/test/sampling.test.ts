import { context, propagation, SpanKind } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { type AnyMessage, TRACEPARENT } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { instrumentSwitchyard } from '../src/index.ts';
import { PlaceOrder, startLocalSide, startRemoteSide } from './harness/scenario.ts';
import { transportKit } from './harness/transports.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sdk(options: { sampledOut?: boolean; dispatchSpans?: boolean }) {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({
    spanProcessors: [new SimpleSpanProcessor(exporter)],
    ...(options.sampledOut === true ? { sampler: new AlwaysOffSampler() } : {}),
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const uninstall = instrumentSwitchyard({ tracerProvider, dispatchSpans: options.dispatchSpans });
  cleanups.push(async () => {
    uninstall();
    await tracerProvider.shutdown();
    context.disable();
    propagation.disable();
  });
  return exporter;
}

/** One PlaceOrder through the in-memory transport and back; returns what both sides' handlers got. */
async function roundTrip(): Promise<Record<string, AnyMessage>> {
  const kit = transportKit('in-memory', 'unused');
  const local = await startLocalSide(kit);
  const seen: Record<string, AnyMessage> = {};
  const remote = await startRemoteSide(kit, local.backAddress, (label, message) => {
    seen[label] = message;
  });
  local.connect(remote.address);
  try {
    await local.commands.dispatch(PlaceOrder.create({ n: 1 }));
    await local.whenShipped;
  } finally {
    await remote.close();
    await local.close();
  }
  return { ...seen, ...Object.fromEntries(local.seen) };
}

function traceIdOf(message: AnyMessage | undefined): string | undefined {
  const traceparent = message?.metadata[TRACEPARENT];
  return typeof traceparent === 'string' ? traceparent.split('-')[1] : undefined;
}

describe('sampling and options', () => {
  it('propagates a sampled-out trace (flags 00) without recording spans', async () => {
    const exporter = sdk({ sampledOut: true });
    const seen = await roundTrip();
    const placed = seen['remote PlaceOrder'];
    const event = seen['local OrderPlaced'];
    expect(placed?.metadata[TRACEPARENT]).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
    expect(traceIdOf(event)).toBe(traceIdOf(placed));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('with dispatchSpans: false, only send and process spans, still one trace', async () => {
    const exporter = sdk({ dispatchSpans: false });
    await roundTrip();
    const spans = exporter.getFinishedSpans();
    const byName = new Map(spans.map((span) => [span.name, span]));
    expect([...byName.keys()].sort()).toEqual([
      'process OrderPlaced',
      'process PlaceOrder',
      'send OrderPlaced',
      'send PlaceOrder',
    ]);
    const parentOf = (name: string) => byName.get(name)?.parentSpanContext?.spanId;
    const idOf = (name: string) => byName.get(name)?.spanContext().spanId;
    expect(parentOf('process PlaceOrder')).toBe(idOf('send PlaceOrder'));
    expect(parentOf('send OrderPlaced')).toBe(idOf('process PlaceOrder'));
    expect(parentOf('process OrderPlaced')).toBe(idOf('send OrderPlaced'));
    expect(byName.get('send PlaceOrder')?.kind).toBe(SpanKind.PRODUCER);
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
  });

  it('without an SDK: handlers run, ids are stamped, no trace context is invented', async () => {
    cleanups.push(instrumentSwitchyard());
    const seen = await roundTrip();
    const event = seen['local OrderPlaced'];
    expect(event?.metadata[TRACEPARENT]).toBeUndefined();
    expect(event?.metadata.correlationId).toBe(seen['remote PlaceOrder']?.id);
    expect(seen['local ShipOrder']).toBeDefined();
  });

  it('without an SDK of its own, passes on the trace context of a message it received', async () => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    cleanups.push(() => {
      context.disable();
      propagation.disable();
    });
    cleanups.push(instrumentSwitchyard());
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const kit = transportKit('in-memory', 'unused');
    const local = await startLocalSide(kit);
    const seen: Record<string, AnyMessage> = {};
    const remote = await startRemoteSide(kit, local.backAddress, (label, message) => {
      seen[label] = message;
    });
    local.connect(remote.address);
    try {
      await local.commands.dispatch(
        PlaceOrder.create({ n: 1 }, { metadata: { [TRACEPARENT]: traceparent } }),
      );
      await local.whenShipped;
    } finally {
      await remote.close();
      await local.close();
    }
    // The remote handler ran in the received context, so what it sent carries the same trace.
    expect(local.seen.get('local OrderPlaced')?.metadata[TRACEPARENT]).toBe(traceparent);
  });
});
