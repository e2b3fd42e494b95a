import {
  type Attributes,
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import {
  type AnyMessage,
  causationIdOf,
  correlationIdOf,
  type DeadLetterObservation,
  type DispatchObservation,
  failureOutcome,
  type Instrumentation,
  type Metadata,
  type ProcessObservation,
  type ReceiveResult,
  receivedFrom,
  type SendObservation,
} from '@switchyard/core';
import { ATTR } from './attributes.ts';
import { errorDescription, errorType, remoteCode } from './error-type.ts';
import { MessageMetrics, type MetricKey, type Operation } from './message-metrics.ts';

/** Options of {@link SwitchyardTelemetry} and {@link instrumentSwitchyard}. */
export interface SwitchyardTelemetryOptions {
  /** Where spans go. @default the global tracer provider (`trace.getTracerProvider()`) */
  readonly tracerProvider?: TracerProvider | undefined;
  /**
   * Where metrics go. Read once, when the instrumentation is created: set up the SDK first.
   * @default the global meter provider (`metrics.getMeterProvider()`)
   */
  readonly meterProvider?: MeterProvider | undefined;
  /**
   * Writes the trace context into each sent envelope's metadata and reads it back on arrival.
   * @default the global propagator (`propagation`; `NodeSDK` / `NodeTracerProvider.register()` install W3C trace context)
   */
  readonly propagator?: TextMapPropagator | undefined;
  /**
   * An INTERNAL span per local dispatch. Off: only send (PRODUCER) and process (CONSUMER) spans,
   * and messages dispatched inside a handler are children of the process span.
   * @default true
   */
  readonly dispatchSpans?: boolean | undefined;
}

const SCOPE = '@switchyard/opentelemetry';
const LOCAL_SYSTEM = 'switchyard';

const metadataGetter: TextMapGetter<Metadata> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => {
    const value = carrier[key];
    return typeof value === 'string' ? value : undefined;
  },
};

const recordSetter: TextMapSetter<Record<string, string>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * Core's {@link Instrumentation} in OpenTelemetry terms: a `send` span (PRODUCER) per message that
 * leaves through a producer, with the trace context injected into the envelope's metadata; a
 * `process` span (CONSUMER) per message received from a transport, child of the sender's span; an
 * INTERNAL `dispatch` span per local dispatch; and the metrics listed in the README. Install it with
 * {@link instrumentSwitchyard} (or core's `installInstrumentation`). Without an SDK (no-op tracer
 * and meter) it creates nothing and measures nothing.
 */
export class SwitchyardTelemetry implements Instrumentation {
  readonly #provider: TracerProvider;
  /** The tracer, once known (see {@link #tracer}). */
  #resolved: Tracer | undefined;
  readonly #propagator: TextMapPropagator | undefined;
  readonly #dispatchSpans: boolean;
  readonly #metrics: MessageMetrics | undefined;

  constructor(options: SwitchyardTelemetryOptions = {}) {
    this.#provider = options.tracerProvider ?? trace.getTracerProvider();
    this.#propagator = options.propagator;
    this.#dispatchSpans = options.dispatchSpans !== false;
    this.#metrics = MessageMetrics.create(
      (options.meterProvider ?? metrics.getMeterProvider()).getMeter(SCOPE),
    );
  }

  dispatch(observation: DispatchObservation, next: () => Promise<unknown>): Promise<unknown> {
    const message = observation.message;
    // A received message already has its process span, which its handler runs in.
    if (receivedFrom(message) !== undefined) return next();
    let span: Span | undefined;
    let active: Context | undefined;
    const tracer = this.#dispatchSpans ? this.#tracer() : undefined;
    if (tracer !== undefined) {
      const parent = context.active();
      const started = tracer.startSpan(`dispatch ${message.name}`, { kind: SpanKind.INTERNAL }, parent);
      if (started.isRecording()) {
        span = started;
        span.setAttributes(messageAttributes(message, LOCAL_SYSTEM, 'dispatch'));
        span.setAttribute(ATTR.bus, observation.bus);
      }
      if (carriesContext(started)) active = trace.setSpan(parent, started);
    }
    const measured = this.#measure('dispatch', LOCAL_SYSTEM, message);
    const work = active === undefined ? next() : context.with(active, next);
    if (span === undefined && measured === undefined) return work;
    // A timeout or abort ends the caller's wait while the handler may go on: it is the outcome too.
    return observe(work, span, measured, () => observation.context.cancelled);
  }

  send(observation: SendObservation, next: (metadata?: Metadata) => Promise<void>): Promise<void> {
    const { message, transport } = observation;
    let parent = context.active();
    // Sent where no span is active (an outbox relay, a dead letter replayed): the trace the message
    // carries goes on.
    if (trace.getSpan(parent) === undefined) {
      const carried = (this.#propagator ?? propagation).extract(
        ROOT_CONTEXT,
        message.metadata,
        metadataGetter,
      );
      if (trace.getSpan(carried) !== undefined) parent = carried;
    }
    const tracer = this.#tracer();
    const started = tracer?.startSpan(`send ${message.name}`, { kind: SpanKind.PRODUCER }, parent);
    const span = started?.isRecording() === true ? started : undefined;
    span?.setAttributes(messageAttributes(message, transport, 'send'));
    const measured = this.#measure('send', transport, message);
    let work: Promise<void>;
    // No SDK: no span, but a trace context that passes through this process still travels on.
    const carried = started === undefined ? carriesContext(trace.getSpan(parent)) : carriesContext(started);
    if (carried) {
      const active = started === undefined ? parent : trace.setSpan(parent, started);
      const carrier: Record<string, string> = {};
      (this.#propagator ?? propagation).inject(active, carrier, recordSetter);
      const metadata = hasKeys(carrier) ? carrier : undefined;
      work = context.with(active, () => next(metadata));
    } else work = next(undefined);
    if (span === undefined && measured === undefined) return work;
    return observe(work, span, measured, noCancel);
  }

  process(observation: ProcessObservation, next: () => Promise<ReceiveResult>): Promise<ReceiveResult> {
    const { message, transport, consumerGroup } = observation;
    const parent = (this.#propagator ?? propagation).extract(ROOT_CONTEXT, message.metadata, metadataGetter);
    const tracer = this.#tracer();
    const started = tracer?.startSpan(`process ${message.name}`, { kind: SpanKind.CONSUMER }, parent);
    const span = started?.isRecording() === true ? started : undefined;
    span?.setAttributes(messageAttributes(message, transport, 'process'));
    if (consumerGroup !== undefined) span?.setAttribute(ATTR.consumerGroup, consumerGroup);
    const measured = this.#measure('process', transport, message, consumerGroup);
    let work: Promise<ReceiveResult>;
    if (started === undefined)
      work = carriesContext(trace.getSpan(parent)) ? context.with(parent, next) : next();
    else work = carriesContext(started) ? context.with(trace.setSpan(parent, started), next) : next();
    if (span === undefined && measured === undefined) return work;
    return work.then(
      (result) => {
        finish(span, measured, result.ok ? undefined : result.error);
        return result;
      },
      (error: unknown) => {
        finish(span, measured, error);
        throw error;
      },
    );
  }

  deadLetter(observation: DeadLetterObservation): void {
    if (this.#metrics === undefined) return;
    const message = observation.message;
    const attributes: Attributes = {
      [ATTR.messagingSystem]: observation.transport,
      [ATTR.errorType]: errorType(observation.error),
    };
    if (message !== undefined) {
      attributes[ATTR.destinationName] = message.name;
      attributes[ATTR.messageKind] = message.kind;
    }
    this.#metrics.deadLettered(attributes);
  }

  /**
   * The tracer, or `undefined` while the global provider has no SDK behind it (then no span is
   * started at all: the API's no-op tracer would only cost). Once an SDK is there it is kept.
   */
  #tracer(): Tracer | undefined {
    if (this.#resolved !== undefined) return this.#resolved;
    const provider = this.#provider;
    const tracer =
      provider instanceof ProxyTracerProvider ? provider.getDelegateTracer(SCOPE) : provider.getTracer(SCOPE);
    this.#resolved = tracer;
    return tracer;
  }

  /** Starts measuring one operation, or `undefined` without a meter. */
  #measure(
    operation: Operation,
    system: string,
    message: AnyMessage,
    group?: string | undefined,
  ): Measured | undefined {
    const metrics = this.#metrics;
    if (metrics === undefined) return undefined;
    const key = metrics.key(operation, system, message.kind, message.name, group);
    metrics.started(key);
    return { metrics, key, started: performance.now() };
  }
}

interface Measured {
  readonly metrics: MessageMetrics;
  readonly key: MetricKey;
  readonly started: number;
}

const noCancel = (): unknown => undefined;

/** Ends the span and records the metrics when `work` settles; returns a promise of the same outcome. */
function observe<T>(
  work: Promise<T>,
  span: Span | undefined,
  measured: Measured | undefined,
  cancelled: () => unknown,
): Promise<T> {
  return work.then(
    (value) => {
      finish(span, measured, cancelled());
      return value;
    },
    (error: unknown) => {
      finish(span, measured, error);
      throw error;
    },
  );
}

function finish(span: Span | undefined, measured: Measured | undefined, error: unknown): void {
  if (measured !== undefined) {
    measured.metrics.finished(measured.key, (performance.now() - measured.started) / 1_000, error);
  }
  if (span !== undefined) endSpan(span, error);
}

/**
 * True when the span must become the active context: it records, or it carries a trace that was
 * sampled out (its children and the envelope must still say so). A no-op tracer's span does neither.
 */
function carriesContext(span: Span | undefined): boolean {
  if (span === undefined) return false;
  if (span.isRecording()) return true;
  const spanContext = span.spanContext();
  return spanContext !== INVALID_SPAN_CONTEXT && isSpanContextValid(spanContext);
}

/** The attributes every span of `message` carries. */
function messageAttributes(message: AnyMessage, system: string, operation: Operation): Attributes {
  const attributes: Attributes = {
    [ATTR.messagingSystem]: system,
    [ATTR.operationName]: operation,
    [ATTR.destinationName]: message.name,
    [ATTR.messageId]: message.id,
    [ATTR.conversationId]: correlationIdOf(message) ?? message.id,
    [ATTR.messageName]: message.name,
    [ATTR.messageKind]: message.kind,
  };
  if (operation !== 'dispatch') attributes[ATTR.operationType] = operation;
  const causation = causationIdOf(message);
  if (causation !== undefined) attributes[ATTR.causationId] = causation;
  return attributes;
}

/** Ends a recording span, marking it failed with the error's code and outcome. */
function endSpan(span: Span, error: unknown): void {
  if (error === undefined) span.setAttribute(ATTR.outcome, 'ok');
  else {
    span.setAttribute(ATTR.outcome, failureOutcome(error).failure);
    span.setAttribute(ATTR.errorType, errorType(error));
    const remote = remoteCode(error);
    if (remote !== undefined) span.setAttribute(ATTR.remoteCode, remote);
    if (error instanceof Error) span.recordException(error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorDescription(error) });
  }
  span.end();
}

function hasKeys(record: Record<string, string>): boolean {
  for (const _ in record) return true;
  return false;
}
