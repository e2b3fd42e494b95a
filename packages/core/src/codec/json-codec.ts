import {
  DecodeError,
  EncodeError,
  errorMessage,
  PayloadTooLargeError,
  type RemoteErrorInfo,
  type ValidationIssue,
} from '../errors.ts';
import type { Metadata } from '../json.ts';
import { type AnyMessage, createMessage, type MessageKind } from '../message.ts';
import type { MessageCodec, Reply, WireData } from './message-codec.ts';

/** Options of the {@link JsonCodec}. */
export interface JsonCodecOptions {
  /**
   * Largest envelope or reply accepted by `decode`/`decodeReply`, in bytes (UTF-8).
   * @default 16 MiB (16_777_216)
   */
  readonly maxBytes?: number;
}

/** The envelope version this codec writes and the only one it reads. */
export const ENVELOPE_VERSION = 1;

const KINDS: ReadonlySet<string> = new Set<MessageKind>(['command', 'event', 'query']);
const MAX_ID_LENGTH = 256;
const MAX_NAME_LENGTH = 512;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Wire format v1, JSON: `{ v: 1, id, kind, name, payload, metadata, createdAt }`; replies
 * `{ v: 1, inReplyTo, ok: true, result }` or `{ v: 1, inReplyTo, ok: false, error: { name, message, code } }`.
 * The default codec of every adapter.
 *
 * A payload of `undefined` is sent as `null` (JSON has no `undefined`).
 */
export class JsonCodec implements MessageCodec {
  readonly contentType = 'application/json';
  readonly #maxBytes: number;
  /** The last `createdAt` that parsed as a date. */
  #lastCreatedAt = '';

  constructor(options: JsonCodecOptions = {}) {
    this.#maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  }

  encode(message: AnyMessage): string {
    return stringify(this.encodeObject(message), message.name);
  }

  /** The v1 envelope as an object (what `encode` stringifies). */
  encodeObject(message: AnyMessage): Record<string, unknown> {
    return {
      v: ENVELOPE_VERSION,
      id: message.id,
      kind: message.kind,
      name: message.name,
      payload: message.payload === undefined ? null : message.payload,
      metadata: message.metadata,
      createdAt: message.createdAt,
    };
  }

  decode(data: WireData): AnyMessage {
    return this.#decodeEnvelope(this.#parse(data, 'envelope'));
  }

  /** Decodes a v1 envelope someone else parsed from JSON; refuses pollution keys as `decode` does. */
  decodeObject(value: unknown): AnyMessage {
    if (!isPlainObject(value))
      throw new DecodeError(`The envelope must be a JSON object, got ${describe(value)}`);
    if (hasPollutionKey(value))
      throw new DecodeError('The envelope contains a "__proto__" or "constructor.prototype" key');
    return this.#decodeEnvelope(value);
  }

  #decodeEnvelope(envelope: Record<string, unknown>): AnyMessage {
    if (envelope.v !== ENVELOPE_VERSION) {
      throw new DecodeError(
        `Unsupported envelope version ${describe(envelope.v)}; expected ${ENVELOPE_VERSION}`,
      );
    }
    const id = requireString(envelope, 'id', MAX_ID_LENGTH);
    const kind = envelope.kind;
    if (typeof kind !== 'string' || !KINDS.has(kind)) {
      throw new DecodeError(
        `Envelope field "kind" must be "command", "event" or "query", got ${describe(kind)}`,
      );
    }
    const name = requireString(envelope, 'name', MAX_NAME_LENGTH);
    if (!Object.hasOwn(envelope, 'payload')) throw new DecodeError('Envelope field "payload" is missing');
    const metadata = envelope.metadata;
    if (!isPlainObject(metadata))
      throw new DecodeError(`Envelope field "metadata" must be an object, got ${describe(metadata)}`);
    const createdAt = requireString(envelope, 'createdAt', 64);
    // Messages sent in the same millisecond share their timestamp: parse each distinct one once.
    if (createdAt !== this.#lastCreatedAt) {
      if (Number.isNaN(Date.parse(createdAt)))
        throw new DecodeError(`Envelope field "createdAt" is not a date: ${createdAt}`);
      this.#lastCreatedAt = createdAt;
    }
    return createMessage({
      id,
      kind: kind as MessageKind,
      name,
      payload: envelope.payload,
      metadata: metadata as Metadata,
      createdAt,
    });
  }

  encodeReply(reply: Reply): string {
    return reply.ok
      ? stringify(
          { v: ENVELOPE_VERSION, inReplyTo: reply.inReplyTo, ok: true, result: reply.result },
          reply.inReplyTo,
        )
      : stringify(
          { v: ENVELOPE_VERSION, inReplyTo: reply.inReplyTo, ok: false, error: reply.error },
          reply.inReplyTo,
        );
  }

  decodeReply(data: WireData): Reply {
    const reply = this.#parse(data, 'reply');
    if (reply.v !== ENVELOPE_VERSION) throw new DecodeError(`Unsupported reply version ${describe(reply.v)}`);
    const inReplyTo = requireString(reply, 'inReplyTo', MAX_ID_LENGTH);
    if (reply.ok === true) return { inReplyTo, ok: true, result: reply.result };
    if (reply.ok !== false)
      throw new DecodeError(`Reply field "ok" must be a boolean, got ${describe(reply.ok)}`);
    const error = reply.error;
    if (!isPlainObject(error)) throw new DecodeError('Reply field "error" must be an object');
    const issues = readIssues(error.issues);
    const info: RemoteErrorInfo = {
      name: requireString(error, 'name', MAX_NAME_LENGTH),
      message: typeof error.message === 'string' ? error.message : '',
      code: typeof error.code === 'string' ? error.code : undefined,
      ...(typeof error.stack === 'string' ? { stack: error.stack } : {}),
      ...(issues === undefined ? {} : { issues }),
    };
    return { inReplyTo, ok: false, error: info };
  }

  #parse(data: WireData, what: string): Record<string, unknown> {
    let text: string;
    if (typeof data === 'string') {
      // A JS string is at most 3 UTF-8 bytes per UTF-16 unit: count exactly only when it may be over.
      if (data.length * 3 > this.#maxBytes && Buffer.byteLength(data, 'utf8') > this.#maxBytes) {
        throw new PayloadTooLargeError(this.#maxBytes);
      }
      text = data;
    } else if (data instanceof Uint8Array) {
      if (data.byteLength > this.#maxBytes) throw new PayloadTooLargeError(this.#maxBytes);
      try {
        text = utf8.decode(data);
      } catch (cause) {
        throw new DecodeError(`The ${what} is not valid UTF-8`, { cause });
      }
    } else {
      throw new DecodeError(`The ${what} must be a string or bytes, got ${describe(data)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (cause) {
      throw new DecodeError(`The ${what} is not valid JSON`, { cause });
    }
    if (!isPlainObject(parsed))
      throw new DecodeError(`The ${what} must be a JSON object, got ${describe(parsed)}`);
    // JSON.parse makes "__proto__" an own data property, harmless by itself but a pollution vector
    // for whoever spreads or merges the payload later; so is `constructor.prototype` for naive deep
    // merges. Refuse both; look only when they can be there.
    if (
      (text.includes('__proto__') || text.includes('prototype') || text.includes('\\u')) &&
      hasPollutionKey(parsed)
    ) {
      throw new DecodeError(`The ${what} contains a "__proto__" or "constructor.prototype" key`);
    }
    return parsed;
  }
}

function stringify(value: unknown, label: string): string {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    throw new EncodeError(`Cannot encode "${label}" as JSON: ${errorMessage(cause)}`, {
      cause,
    });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(object: Record<string, unknown>, field: string, maxLength: number): string {
  const value = object[field];
  if (typeof value !== 'string' || value.length === 0) {
    throw new DecodeError(`Field "${field}" must be a non-empty string, got ${describe(value)}`);
  }
  if (value.length > maxLength)
    throw new DecodeError(`Field "${field}" is longer than ${maxLength} characters`);
  return value;
}

/** Reads a reply's validation issues: an array of `{ message, path? }`, at most 100 kept. */
function readIssues(value: unknown): ValidationIssue[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const issues: ValidationIssue[] = [];
  for (const item of value.slice(0, 100)) {
    if (!isPlainObject(item) || typeof item.message !== 'string') continue;
    const path = Array.isArray(item.path)
      ? item.path.filter((key): key is string | number => typeof key === 'string' || typeof key === 'number')
      : undefined;
    issues.push(path === undefined ? { message: item.message } : { message: item.message, path });
  }
  return issues;
}

function hasPollutionKey(root: unknown): boolean {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value !== 'object' || value === null) continue;
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    if (Object.hasOwn(value, '__proto__')) return true;
    const ctor = (value as { constructor?: unknown }).constructor;
    if (Object.hasOwn(value, 'constructor') && typeof ctor === 'object' && ctor !== null) {
      if (Object.hasOwn(ctor, 'prototype')) return true;
    }
    for (const key of Object.keys(value)) stack.push((value as Record<string, unknown>)[key]);
  }
  return false;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return value.length > 40 ? `a string "${value.slice(0, 40)}…"` : `"${value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}
