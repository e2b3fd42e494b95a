import {
  type Attributes,
  type Counter,
  createNoopMeter,
  type Histogram,
  type Meter,
  type UpDownCounter,
} from '@opentelemetry/api';
import { failureOutcome } from '@switchyard/core';
import { ATTR, METRIC } from './attributes.ts';
import { errorType } from './error-type.ts';

/** What is measured: a local dispatch, a send, or the processing of a received message. */
export type Operation = 'dispatch' | 'send' | 'process';

/** The attributes of one (operation, system, kind, name), built once. */
export interface MetricKey {
  readonly operation: Operation;
  readonly base: Attributes;
  readonly ok: Attributes;
  readonly inFlight: Attributes;
}

/** Cached keys at most; past it (e.g. random names from a hostile peer) they are built per use. */
const MAX_KEYS = 2_000;

/** The instruments, and the attribute sets they are recorded with (cached: no allocation per message). */
export class MessageMetrics {
  readonly #sent: Counter;
  readonly #consumed: Counter;
  readonly #failed: Counter;
  readonly #deadLettered: Counter;
  readonly #durations: Record<Operation, Histogram>;
  readonly #inFlight: UpDownCounter;
  readonly #keys = new Map<string, MetricKey>();

  /** `undefined` for the API's no-op meter: then nothing is measured at all. */
  static create(meter: Meter): MessageMetrics | undefined {
    const counter = meter.createCounter(METRIC.sent, {
      unit: '{message}',
      description: 'Messages sent through a producer (by name, kind, transport, outcome)',
    });
    if (counter === createNoopMeter().createCounter(METRIC.sent)) return undefined;
    return new MessageMetrics(meter, counter);
  }

  private constructor(meter: Meter, sent: Counter) {
    this.#sent = sent;
    this.#consumed = meter.createCounter(METRIC.consumed, {
      unit: '{message}',
      description: 'Messages received from a transport and processed (by name, kind, transport, outcome)',
    });
    this.#failed = meter.createCounter(METRIC.failed, {
      unit: '{message}',
      description:
        'Failed sends, processings and local dispatches (by operation, name, kind, transport, outcome)',
    });
    this.#deadLettered = meter.createCounter(METRIC.deadLettered, {
      unit: '{message}',
      description: 'Messages a transport kept as dead letters',
    });
    this.#durations = {
      send: meter.createHistogram(METRIC.sendDuration, {
        unit: 's',
        description: 'Duration of a send, until the transport took the message (a query: until its reply)',
      }),
      process: meter.createHistogram(METRIC.processDuration, {
        unit: 's',
        description: 'Duration of processing a received message (handler included)',
      }),
      dispatch: meter.createHistogram(METRIC.dispatchDuration, {
        unit: 's',
        description: 'Duration of a local dispatch (handler, or hand-off to a producer)',
      }),
    };
    this.#inFlight = meter.createUpDownCounter(METRIC.inFlight, {
      unit: '{message}',
      description: 'Dispatches, sends and processings in progress (by operation, transport)',
    });
  }

  /** The attributes of one operation; `group` is the subscriber group of a topic consumer (process only). */
  key(operation: Operation, system: string, kind: string, name: string, group?: string): MetricKey {
    const id =
      group === undefined
        ? `${operation}\u0000${system}\u0000${kind}\u0000${name}`
        : `${operation}\u0000${system}\u0000${kind}\u0000${name}\u0000${group}`;
    const cached = this.#keys.get(id);
    if (cached !== undefined) return cached;
    const base: Attributes = {
      [ATTR.messagingSystem]: system,
      [ATTR.operationName]: operation,
      [ATTR.destinationName]: name,
      [ATTR.messageKind]: kind,
    };
    if (group !== undefined) base[ATTR.consumerGroup] = group;
    const key: MetricKey = {
      operation,
      base,
      ok: { ...base, [ATTR.outcome]: 'ok' },
      inFlight: { [ATTR.operationName]: operation, [ATTR.messagingSystem]: system },
    };
    if (this.#keys.size < MAX_KEYS) this.#keys.set(id, key);
    return key;
  }

  started(key: MetricKey): void {
    this.#inFlight.add(1, key.inFlight);
  }

  /** Records one finished operation: duration in seconds, the count, and the failure if any. */
  finished(key: MetricKey, seconds: number, error: unknown): void {
    this.#inFlight.add(-1, key.inFlight);
    const attributes =
      error === undefined
        ? key.ok
        : { ...key.base, [ATTR.outcome]: failureOutcome(error).failure, [ATTR.errorType]: errorType(error) };
    this.#durations[key.operation].record(seconds, attributes);
    if (key.operation === 'send') this.#sent.add(1, attributes);
    else if (key.operation === 'process') this.#consumed.add(1, attributes);
    if (error !== undefined) this.#failed.add(1, attributes);
  }

  deadLettered(attributes: Attributes): void {
    this.#deadLettered.add(1, attributes);
  }
}
