import type { WireData } from '../codec/message-codec.ts';
import { ConfigurationError, isSwitchyardError } from '../errors.ts';
import type { JsonValue, Metadata } from '../json.ts';
import { type AnyMessage, createMessage, DEADLINE, RECEIVED_FROM } from '../message.ts';
import { isMessageProducer, type MessageProducer } from '../message-producer.ts';
import { reportDeadLetter } from '../observability/instrumentation.ts';
import { failedReason } from './delivery-fate.ts';
import type { ErrorReporter } from './error-reporter.ts';
import type { ReceiveResult } from './message-receiver.ts';

/**
 * Metadata key of a message handed to a dead-letter sink: a {@link DeadLetterInfo} saying why, when
 * and where it failed for good. Removed again when the letter is replayed.
 */
export const DEAD_LETTER = 'switchyard.deadLetter';

/**
 * Name of the message a sink keeps for input that could not be decoded (poison bytes): an event
 * whose payload is `{ envelope }` — the raw envelope as text (base64 for binary input). It cannot be
 * replayed, only listed and purged.
 */
export const UNDECODABLE = 'switchyard.undecodable';

/** Where a dead letter failed: the consumer that gave up on it. */
export interface DeadLetterOrigin {
  /** The transport's name in the configuration (e.g. `"users"`), or the adapter's name outside `createSwitchyard`. */
  readonly transport: string;
  /** The adapter: `"http"`, `"zeromq"`, `"in-memory"`, … */
  readonly kind: string;
  /** The address the consumer served (its `start()` result), when known. */
  readonly address?: JsonValue | undefined;
}

/** The value of the {@link DEAD_LETTER} metadata entry. */
export interface DeadLetterInfo {
  /** Why it failed: `CODE: message` for a Switchyard error, else the error's message. */
  readonly error: string;
  /** The error's `code`, when it has one (e.g. `SWITCHYARD_VALIDATION_ERROR`). */
  readonly code?: string | undefined;
  /** The consumer that gave up on it. */
  readonly origin: DeadLetterOrigin;
  /** When it failed for good (ISO-8601). */
  readonly failedAt: string;
  /** Attempts made (1: these transports deliver once). */
  readonly attempts: number;
}

/** The consumer options of the dead-letter sink (every consumer takes them; see `TransportConsumerOptions`). */
export interface DeadLetterSinkOptions {
  /**
   * A durable producer that takes the commands and events this consumer gives up on: a handler that
   * failed, an invalid or unknown message (every row of core's outcome table marked `deadLetter`).
   * The message goes there as it arrived, with a {@link DEAD_LETTER} metadata entry (error, origin,
   * time), and nobody consumes it: list, replay and purge it with `app.deadLetters`. Queries are never
   * dead-lettered (their caller gets the error). A failing sink is reported to `onError` with both
   * errors; the consumer goes on. For consumers that keep no dead letters of their own (HTTP,
   * ZeroMQ, in-memory); BullMQ and PostgreSQL consumers keep theirs and refuse it. `createSwitchyard`'s
   * `deadLetters` option gives it to every such consumer.
   * @default undefined — failures are only reported (`onError`, logger)
   */
  readonly deadLetterSink?: MessageProducer | undefined;
  /**
   * The transport name recorded as a dead letter's `origin.transport`. `createSwitchyard` gives the
   * transport's name in the configuration.
   * @default the adapter's name (`"http"`, `"zeromq"`, …)
   */
  readonly transportName?: string | undefined;
}

/** Checks a `deadLetterSink` option: a durable producer that is not a topic; `ConfigurationError` otherwise. */
export function checkDeadLetterSink(component: string, sink: unknown): MessageProducer | undefined {
  if (sink === undefined) return undefined;
  if (!isMessageProducer(sink)) {
    throw new ConfigurationError(`${component}: deadLetterSink must be a MessageProducer`);
  }
  if (sink.capabilities.durable !== true) {
    throw new ConfigurationError(
      `${component}: deadLetterSink must be a durable producer (BullMQ, PostgreSQL): dead letters kept in memory die with the process`,
    );
  }
  if (sink.capabilities.fanOut === true) {
    throw new ConfigurationError(`${component}: deadLetterSink cannot be a topic: give it a queue`);
  }
  return sink;
}

/** The {@link DeadLetterInfo} a message carries, or `undefined` when it carries none (never trusts the shape). */
export function deadLetterInfoOf(message: AnyMessage): DeadLetterInfo | undefined {
  const value = (message.metadata as Record<string, unknown>)[DEAD_LETTER];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const info = value as Record<string, unknown>;
  if (typeof info.error !== 'string') return undefined;
  const origin =
    typeof info.origin === 'object' && info.origin !== null ? (info.origin as Record<string, unknown>) : {};
  return {
    error: info.error,
    code: typeof info.code === 'string' ? info.code : undefined,
    origin: {
      transport: typeof origin.transport === 'string' ? origin.transport : 'unknown',
      kind: typeof origin.kind === 'string' ? origin.kind : 'unknown',
      address: origin.address as JsonValue | undefined,
    },
    failedAt: typeof info.failedAt === 'string' ? info.failedAt : '',
    attempts: typeof info.attempts === 'number' ? info.attempts : 1,
  };
}

/** The message as it was sent: without the dead-letter entry, the arrival mark and the deadline. */
export function withoutDeadLetter(message: AnyMessage): AnyMessage {
  const metadata: Record<string, JsonValue> = { ...message.metadata };
  delete metadata[DEAD_LETTER];
  delete metadata[RECEIVED_FROM];
  delete metadata[DEADLINE];
  return createMessage({ ...message, metadata });
}

/** The error code at the start of a `failedReason` (`SWITCHYARD_X: …`), if any. */
export function codeOfReason(reason: string): string | undefined {
  return /^([A-Z][A-Z0-9_]*): /.exec(reason)?.[1];
}

/**
 * The hand-off of a consumer's dead letters to its sink — one place for every consumer (called from
 * `TransportConsumer.reportFailure`). Never rejects: a sink failure goes to `onError`.
 */
export class DeadLetterSink {
  readonly #sink: MessageProducer;
  readonly #errors: ErrorReporter;
  readonly #origin: { transport: string; kind: string };

  constructor(sink: MessageProducer, errors: ErrorReporter, transportName: string, kind: string) {
    this.#sink = sink;
    this.#errors = errors;
    this.#origin = { transport: transportName, kind };
  }

  /**
   * Whether `result` is a dead letter: a failure the outcome table marks `deadLetter`, of a command
   * or event (a query's caller got the error), or undecodable input when the bytes are at hand.
   */
  wants(result: Extract<ReceiveResult, { ok: false }>, envelope: WireData | undefined): boolean {
    if (!result.outcome.deadLetter) return false;
    if (result.message !== undefined) return result.message.kind !== 'query';
    return envelope !== undefined;
  }

  /** Produces the letter to the sink, then tells the instrumentation. Never rejects. */
  async handOff(
    result: Extract<ReceiveResult, { ok: false }>,
    envelope: WireData | undefined,
    address: unknown,
  ): Promise<void> {
    const info: Record<string, JsonValue> = {
      error: failedReason(result.error),
      origin: { ...this.#origin, ...addressOf(address) },
      failedAt: new Date().toISOString(),
      attempts: 1,
    };
    if (isSwitchyardError(result.error)) info.code = result.error.code;
    const letter = toLetter(result.message, envelope, info);
    try {
      await this.#sink.produce(letter);
    } catch (error) {
      this.#errors.report(
        new AggregateError(
          [error, result.error],
          `The dead letter "${letter.name}" could not be handed to the sink: ${failedReason(error)}`,
        ),
        'receive',
        { messageId: letter.id, messageName: letter.name, failure: result.failure, deadLetter: false },
      );
      return;
    }
    reportDeadLetter({ message: result.message, transport: this.#origin.kind, error: result.error });
  }
}

function toLetter(
  message: AnyMessage | undefined,
  envelope: WireData | undefined,
  info: Record<string, JsonValue>,
): AnyMessage {
  if (message !== undefined) {
    const metadata: Metadata = { ...withoutDeadLetter(message).metadata, [DEAD_LETTER]: info };
    return createMessage({ ...message, metadata });
  }
  const text =
    typeof envelope === 'string'
      ? envelope
      : envelope === undefined
        ? ''
        : Buffer.from(envelope.buffer, envelope.byteOffset, envelope.byteLength).toString('base64');
  return createMessage({
    kind: 'event',
    name: UNDECODABLE,
    payload: { envelope: text, encoding: typeof envelope === 'string' ? 'text' : 'base64' },
    metadata: { [DEAD_LETTER]: info },
  });
}

/** `{ address }` when the consumer's address is plain JSON (it usually is: a URL, endpoints). */
function addressOf(address: unknown): { address?: JsonValue } {
  if (address === undefined) return {};
  try {
    const json = JSON.stringify(address);
    return json === undefined ? {} : { address: JSON.parse(json) as JsonValue };
  } catch {
    return {};
  }
}
