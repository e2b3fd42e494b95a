import type { DispatchContext } from '../dispatch-context.ts';
import { ConfigurationError } from '../errors.ts';
import type { Metadata } from '../json.ts';
import type { AnyMessage } from '../message.ts';
import type { BusKind } from '../message-bus.ts';
import type { ReceiveResult } from '../transport/message-receiver.ts';
import { enableHandlingScope } from './handling-scope.ts';

/** One local dispatch, as a bus hands it to {@link Instrumentation.dispatch}. */
export interface DispatchObservation {
  /** The bus that dispatches. */
  readonly bus: BusKind;
  /** The message, with its correlation, causation and deadline metadata. */
  readonly message: AnyMessage;
  /** The dispatch's context: `error`, `errorPhase`, `cancelled`, `target` once it ran. */
  readonly context: DispatchContext;
}

/** One message leaving through a producer, as core's `TransportProducer` hands it to {@link Instrumentation.send}. */
export interface SendObservation {
  readonly message: AnyMessage;
  /** The transport's name, e.g. `"http"`. */
  readonly transport: string;
  /** The producer's class name, e.g. `"HttpProducer"`. */
  readonly component: string;
}

/** One message that arrived from a transport, as core's `MessageReceiver` hands it to {@link Instrumentation.process}. */
export interface ProcessObservation {
  /** The decoded, validated message (its metadata carries what the sender injected). */
  readonly message: AnyMessage;
  /** The transport's name, e.g. `"bullmq"`. */
  readonly transport: string;
  /** The subscriber group of a topic consumer (see `ReceiverOptions.consumerGroup`), else `undefined`. */
  readonly consumerGroup: string | undefined;
}

/** A message a transport kept as a dead letter (it failed for good), reported with {@link reportDeadLetter}. */
export interface DeadLetterObservation {
  readonly message: AnyMessage | undefined;
  readonly transport: string;
  readonly error: unknown;
}

/**
 * Hooks core calls around its hot paths so that tracing and metrics are written once, for every
 * transport (e.g. `@switchyard/opentelemetry`). Each hook wraps the work: it must call `next` exactly
 * once and return (or await) its promise. None installed costs one variable read per dispatch.
 */
export interface Instrumentation {
  /** Around one local dispatch (inside the handling scope; the handler runs within `next`). */
  dispatch?(observation: DispatchObservation, next: () => Promise<unknown>): Promise<unknown>;
  /**
   * Around one send. `next(metadata)` encodes and sends the message with `metadata` merged into its
   * envelope's metadata (e.g. `traceparent`, `tracestate`): propagation for every transport.
   */
  send?(observation: SendObservation, next: (metadata?: Metadata) => Promise<void>): Promise<void>;
  /** Around the dispatch of one received message (deadline check, bus dispatch, reply built). */
  process?(observation: ProcessObservation, next: () => Promise<ReceiveResult>): Promise<ReceiveResult>;
  /** A transport kept a message as a dead letter. */
  deadLetter?(observation: DeadLetterObservation): void;
}

let installed: Instrumentation | undefined;

/**
 * Installs the process-wide instrumentation; returns the function that removes it. One at a time:
 * installing a second while one is installed throws `ConfigurationError`.
 *
 * @example
 * const uninstall = installInstrumentation({ dispatch: (o, next) => { console.log(o.message.name); return next(); } });
 */
export function installInstrumentation(instrumentation: Instrumentation): () => void {
  if (installed !== undefined) {
    throw new ConfigurationError('An instrumentation is already installed: uninstall it first');
  }
  installed = instrumentation;
  enableHandlingScope(); // spans of what handlers dispatch need their parent
  return () => {
    if (installed === instrumentation) installed = undefined;
  };
}

/** The installed instrumentation, or `undefined`. */
export function currentInstrumentation(): Instrumentation | undefined {
  return installed;
}

/** For transports that keep dead letters: tells the instrumentation, if any, that one was kept. */
export function reportDeadLetter(observation: DeadLetterObservation): void {
  installed?.deadLetter?.(observation);
}
