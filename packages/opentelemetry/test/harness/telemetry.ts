import { context, propagation } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { instrumentSwitchyard, type TraceTreeSpan } from '../../src/index.ts';

/** A pull reader: `collect()` when the test wants the numbers. */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** The standard SDK set up as a user would, with in-memory exporters, and Switchyard instrumented. */
export function setupTelemetry() {
  const exporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const reader = new TestReader({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const uninstall = instrumentSwitchyard({ tracerProvider, meterProvider });
  return {
    exporter,
    reader,
    tracerProvider,
    async teardown(): Promise<void> {
      uninstall();
      await tracerProvider.shutdown();
      await meterProvider.shutdown();
      context.disable();
      propagation.disable();
    },
  };
}

/** A finished span as plain JSON (to cross a process boundary). */
export interface PlainSpan {
  readonly name: string;
  readonly kind: number;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly startTime: [number, number];
  readonly duration: [number, number];
  readonly status: { code: number; message?: string | undefined };
  readonly attributes: Record<string, unknown>;
  readonly process: string;
}

export function toPlain(span: ReadableSpan, process: string): PlainSpan {
  const { traceId, spanId } = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    traceId,
    spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    startTime: [span.startTime[0], span.startTime[1]],
    duration: [span.duration[0], span.duration[1]],
    status: { code: span.status.code, message: span.status.message },
    attributes: { ...span.attributes },
    process,
  };
}

/** A plain span as formatTraceTree reads it. */
export function asTreeSpan(span: PlainSpan): TraceTreeSpan {
  return {
    ...span,
    spanContext: () => ({ traceId: span.traceId, spanId: span.spanId }),
    parentSpanContext: span.parentSpanId === undefined ? undefined : { spanId: span.parentSpanId },
  };
}
