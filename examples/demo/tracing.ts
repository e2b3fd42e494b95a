/**
 * OpenTelemetry for the demo: the standard SDK with an in-memory exporter, and Switchyard
 * instrumented, so the demo can print the trace of one request as a tree. In production the
 * exporter would be OTLP (Jaeger, Tempo, …): see packages/opentelemetry/README.md.
 */
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { formatTraceTree, instrumentSwitchyard } from '@switchyard/opentelemetry';

const exporter = new InMemorySpanExporter();
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());
const uninstall = instrumentSwitchyard({ tracerProvider });
const tracer = tracerProvider.getTracer('switchyard-demo');

/** Runs `fn` as one traced request (a root span named `name`) and returns its result and trace id. */
export async function tracedRequest<T>(
  name: string,
  fn: () => Promise<T>,
): Promise<{ result: T; traceId: string }> {
  return tracer.startActiveSpan(name, async (span) => {
    try {
      return { result: await fn(), traceId: span.spanContext().traceId };
    } finally {
      span.end();
    }
  });
}

/** The finished spans of one trace, as a tree with durations. */
export function traceTree(traceId: string): string {
  return formatTraceTree(exporter.getFinishedSpans(), { traceId });
}

/** Removes the instrumentation and shuts the SDK down. */
export async function stopTracing(): Promise<void> {
  uninstall();
  await tracerProvider.shutdown();
  context.disable();
  trace.disable();
}
