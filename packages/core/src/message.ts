import type { Metadata } from './json.ts';
import { randomUuid } from './uuid.ts';

/** The three kinds of message Switchyard carries. */
export type MessageKind = 'command' | 'event' | 'query';

/**
 * An immutable message. Build one with a definition (`RegisterUser.create(payload)`), never by
 * hand, so `id`, `createdAt` and `kind` are always right.
 *
 * Its fields are `readonly` for TypeScript everywhere. Outside production (`NODE_ENV` is not
 * `"production"`) the message object and its metadata are also frozen, so a handler that writes to
 * one throws in development and tests; see {@link freezeMessages}. The payload is read-only by
 * convention (it is not deep-frozen, which would cost a walk over every payload).
 */
export interface Message<
  Payload = unknown,
  Kind extends MessageKind = MessageKind,
  Name extends string = string,
> {
  /** UUID v4, unique per message; transports use it to de-duplicate. */
  readonly id: string;
  /** `command`, `event` or `query`. */
  readonly kind: Kind;
  /** The explicit message name, e.g. `"RegisterUser"`. */
  readonly name: Name;
  /** The JSON-serialisable payload. */
  readonly payload: Payload;
  /** String keys, JSON values. */
  readonly metadata: Metadata;
  /** ISO-8601 UTC timestamp of creation. */
  readonly createdAt: string;
}

/** A command message. */
export type CommandMessage<Payload = unknown, Name extends string = string> = Message<
  Payload,
  'command',
  Name
>;
/** An event message. */
export type EventMessage<Payload = unknown, Name extends string = string> = Message<Payload, 'event', Name>;

declare const resultType: unique symbol;
/** A query message; `Result` is the type its finder answers with (a type-level marker only). */
export interface QueryMessage<Payload = unknown, Result = unknown, Name extends string = string>
  extends Message<Payload, 'query', Name> {
  readonly [resultType]?: Result;
}

/** Any message. */
export type AnyMessage = Message<unknown, MessageKind, string>;

/** The result type of a query message. */
export type ResultOf<Q> = Q extends QueryMessage<unknown, infer R> ? R : unknown;

/** Fields that may be given when building a message; the rest are generated. */
export interface MessageInit<Payload, Kind extends MessageKind, Name extends string> {
  readonly kind: Kind;
  readonly name: Name;
  readonly payload: Payload;
  readonly metadata?: Metadata | undefined;
  readonly id?: string | undefined;
  readonly createdAt?: string | undefined;
}

/**
 * The metadata of every message created without any: one empty object, always frozen (it is
 * shared by every such message, in production too). @internal
 */
export const EMPTY_METADATA: Metadata = Object.freeze({});

/** Whether messages are frozen now: see {@link freezeMessages}. */
let freezing = globalThis.process?.env?.NODE_ENV !== 'production';

/**
 * Turns freezing of messages (and of their metadata) on or off for this process; returns the
 * setting it replaced.
 *
 * @default frozen unless `process.env.NODE_ENV` is `"production"` when `@switchyard/core` loads. A
 * frozen message makes a handler that writes to it throw (`TypeError` in strict mode), which is
 * what development and tests want; `Object.freeze` costs 10–14% of the time to create and dispatch
 * a message in process, which production need not pay: the fields are `readonly` for TypeScript
 * either way. Messages created before a change keep the state they were created with; the shared
 * empty metadata object stays frozen always.
 *
 * @example
 * import { freezeMessages } from '@switchyard/core';
 * freezeMessages(true); // frozen in production too
 */
export function freezeMessages(enabled: boolean): boolean {
  if (typeof enabled !== 'boolean') {
    throw new TypeError(`freezeMessages(enabled): enabled must be a boolean, got ${typeof enabled}`);
  }
  const previous = freezing;
  freezing = enabled;
  return previous;
}

/** True when messages created now are frozen (see {@link freezeMessages}). */
export function messagesAreFrozen(): boolean {
  return freezing;
}

/** `Object.freeze(value)` when messages are frozen (see {@link freezeMessages}), else `value`. @internal */
export function freezeMessagePart<T extends object>(value: T): T {
  return freezing ? Object.freeze(value) : value;
}

let lastMillis = 0;
let lastIso = '';
/**
 * `new Date().toISOString()`, formatted at most once per millisecond (formatting costs ~400 ns).
 * @internal
 */
export function nowIso(): string {
  const now = Date.now();
  if (now !== lastMillis) {
    lastMillis = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}

/**
 * Builds a message (frozen unless {@link freezeMessages} says otherwise). Prefer a definition's
 * `create`; this is for codecs and adapters.
 */
export function createMessage<Payload, Kind extends MessageKind, Name extends string>(
  init: MessageInit<Payload, Kind, Name>,
): Message<Payload, Kind, Name> {
  return freezeMessagePart({
    id: init.id ?? randomUuid(),
    kind: init.kind,
    name: init.name,
    payload: init.payload,
    metadata: init.metadata === undefined ? EMPTY_METADATA : freezeMessagePart({ ...init.metadata }),
    createdAt: init.createdAt ?? nowIso(),
  });
}

/**
 * Returns a copy of `message` with `metadata` merged over its metadata; the original is untouched.
 *
 * @example
 * const traced = withMetadata(cmd, { correlationId: req.id });
 */
export function withMetadata<M extends AnyMessage>(message: M, metadata: Metadata): M {
  // The six fields by name, not `{ ...message }`: the copy gets the same shape as a created message
  // (one hidden class for every message the buses see) and skips the generic spread.
  return freezeMessagePart({
    id: message.id,
    kind: message.kind,
    name: message.name,
    payload: message.payload,
    metadata: freezeMessagePart({ ...message.metadata, ...metadata }),
    createdAt: message.createdAt,
  }) as M;
}

/** True for a value shaped like a Switchyard message (used by buses to tell messages from plain objects). */
export function isMessage(value: unknown): value is AnyMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Partial<AnyMessage>;
  return (
    typeof m.id === 'string' &&
    typeof m.name === 'string' &&
    (m.kind === 'command' || m.kind === 'event' || m.kind === 'query')
  );
}

/**
 * Metadata key set by consumers on messages that arrived from a transport; its value names the
 * transport (`"bullmq"`, `"http"`, …). Routers send such messages to local handlers only, never
 * back to a producer.
 */
export const RECEIVED_FROM = 'switchyard.receivedFrom';

/** The transport a message arrived from, or `undefined` if it was dispatched locally. */
export function receivedFrom(message: unknown): string | undefined {
  const value = metadataValue(message, RECEIVED_FROM);
  return typeof value === 'string' ? value : undefined;
}

/** One metadata value of anything shaped like a message (never trusts the shape). */
function metadataValue(message: unknown, key: string): unknown {
  if (typeof message !== 'object' || message === null) return undefined;
  const metadata = (message as { metadata?: unknown }).metadata;
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  return (metadata as Record<string, unknown>)[key];
}

/**
 * Metadata key of a message's deadline: milliseconds since the Unix epoch (a number). Set by the bus
 * when a message is dispatched with `timeoutMs`; every consumer refuses a message that arrives after
 * it (`SWITCHYARD_DEADLINE_EXCEEDED`, handler not run) and the receiving bus bounds the handler by
 * it (its `signal` fires then). Deadlines are wall-clock times: keep the hosts' clocks in sync.
 */
export const DEADLINE = 'switchyard.deadline';

/** The deadline a message carries (see {@link DEADLINE}), or `undefined`. */
export function deadlineOf(message: unknown): number | undefined {
  const value = metadataValue(message, DEADLINE);
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
