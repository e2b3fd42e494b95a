import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, isSwitchyardError } from '../errors.ts';
import { createMessage } from '../message.ts';
import { JsonCodec } from './json-codec.ts';

const codec = new JsonCodec();
const valid = {
  v: 1,
  id: '6f1c1c1e-8a9b-4c1d-9e8f-1a2b3c4d5e6f',
  kind: 'command',
  name: 'RegisterUser',
  payload: { email: 'ada@example.com' },
  metadata: { correlationId: 'c-1' },
  createdAt: '2026-11-22T10:00:00.000Z',
};

function decodeError(input: unknown): unknown {
  try {
    codec.decode(input as string);
  } catch (error) {
    return error;
  }
  throw new Error('decode accepted the input');
}

describe('JsonCodec', () => {
  it('round-trips a message exactly', () => {
    const message = createMessage({
      kind: 'query',
      name: 'GetUser',
      payload: { id: 'u1', tags: ['a', 'ü', '🚂'], nested: { n: 1.5, ok: true, none: null } },
      metadata: { correlationId: 'c', trace: { sampled: true } },
    });
    const decoded = codec.decode(codec.encode(message));
    expect(decoded).toEqual(message);
    expect(Object.isFrozen(decoded)).toBe(true);
    expect(Object.isFrozen(decoded.metadata)).toBe(true);
    expect(codec.decode(new TextEncoder().encode(codec.encode(message)))).toEqual(message);
  });

  it('sends an undefined payload as null', () => {
    const message = createMessage({ kind: 'query', name: 'ListAll', payload: undefined });
    expect(codec.decode(codec.encode(message)).payload).toBeNull();
  });

  it('round-trips replies', () => {
    expect(codec.decodeReply(codec.encodeReply({ inReplyTo: 'x', ok: true, result: [1, 'two'] }))).toEqual({
      inReplyTo: 'x',
      ok: true,
      result: [1, 'two'],
    });
    const failed = codec.decodeReply(
      codec.encodeReply({ inReplyTo: 'y', ok: false, error: { name: 'E', message: 'm', code: 'C' } }),
    );
    expect(failed).toEqual({ inReplyTo: 'y', ok: false, error: { name: 'E', message: 'm', code: 'C' } });
  });

  it('throws a typed EncodeError for payloads JSON cannot carry', () => {
    const message = createMessage({ kind: 'command', name: 'Big', payload: { n: 10n } });
    expect(() => codec.encode(message)).toThrowError(
      expect.objectContaining({ code: ErrorCode.EncodeError }),
    );
  });

  it.each([
    ['not JSON', '{"v":1,'],
    ['an array', '[]'],
    ['a number', '42'],
    ['null', 'null'],
    ['unknown version', JSON.stringify({ ...valid, v: 2 })],
    ['missing version', JSON.stringify({ ...valid, v: undefined })],
    ['numeric id', JSON.stringify({ ...valid, id: 7 })],
    ['empty id', JSON.stringify({ ...valid, id: '' })],
    ['bad kind', JSON.stringify({ ...valid, kind: 'order' })],
    ['missing name', JSON.stringify({ ...valid, name: undefined })],
    ['name too long', JSON.stringify({ ...valid, name: 'n'.repeat(600) })],
    ['missing payload', JSON.stringify({ ...valid, payload: undefined })],
    ['array metadata', JSON.stringify({ ...valid, metadata: [] })],
    ['null metadata', JSON.stringify({ ...valid, metadata: null })],
    ['bad date', JSON.stringify({ ...valid, createdAt: 'yesterday' })],
    [
      '__proto__ in payload',
      `{"v":1,"id":"a","kind":"event","name":"E","payload":{"__proto__":{"polluted":true}},"metadata":{},"createdAt":"2026-01-01T00:00:00Z"}`,
    ],
    [
      'escaped __proto__ in metadata',
      `{"v":1,"id":"a","kind":"event","name":"E","payload":1,"metadata":{"\\u005f_proto__":{"x":1}},"createdAt":"2026-01-01T00:00:00Z"}`,
    ],
    ['deep nesting', `${'['.repeat(200_000)}${']'.repeat(200_000)}`],
  ])('rejects %s with a DecodeError', (_label, input) => {
    const error = decodeError(input);
    expect(isSwitchyardError(error, ErrorCode.DecodeError)).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('checks every distinct createdAt, also after a valid one was seen', () => {
    const fresh = new JsonCodec();
    const at = (createdAt: string) => JSON.stringify({ ...valid, createdAt });
    expect(fresh.decode(at('2026-11-22T10:00:00.000Z')).createdAt).toBe('2026-11-22T10:00:00.000Z');
    expect(fresh.decode(at('2026-11-22T10:00:00.000Z')).createdAt).toBe('2026-11-22T10:00:00.000Z');
    for (let n = 0; n < 2; n++) {
      expect(() => fresh.decode(at('not a date'))).toThrowError(/"createdAt" is not a date/);
    }
    expect(fresh.decode(at('2026-11-22T10:00:00.001Z')).createdAt).toBe('2026-11-22T10:00:00.001Z');
  });

  it('rejects bodies over the limit and invalid UTF-8', () => {
    const small = new JsonCodec({ maxBytes: 100 });
    expect(() => small.decode(JSON.stringify({ ...valid, payload: 'x'.repeat(200) }))).toThrowError(
      expect.objectContaining({ code: ErrorCode.PayloadTooLarge }),
    );
    expect(() => small.decode(new Uint8Array(101))).toThrowError(
      expect.objectContaining({ code: ErrorCode.PayloadTooLarge }),
    );
    expect(
      isSwitchyardError(decodeError(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), ErrorCode.DecodeError),
    ).toBe(true);
    expect(isSwitchyardError(decodeError(12), ErrorCode.DecodeError)).toBe(true);
  });

  it('rejects malformed replies', () => {
    for (const input of [
      '{}',
      '{"v":1,"inReplyTo":"x","ok":"yes"}',
      '{"v":1,"inReplyTo":"x","ok":false,"error":7}',
      '[',
    ]) {
      expect(() => codec.decodeReply(input)).toThrowError(
        expect.objectContaining({ code: ErrorCode.DecodeError }),
      );
    }
  });

  it('fuzz: any string or bytes either decode to a valid message or throw the typed error', () => {
    const envelopeLike = fc.record(
      {
        v: fc.oneof(fc.constant(1), fc.anything()),
        id: fc.oneof(fc.uuid(), fc.anything()),
        kind: fc.oneof(fc.constantFrom('command', 'event', 'query'), fc.anything()),
        name: fc.oneof(fc.string({ minLength: 1 }), fc.anything()),
        payload: fc.jsonValue(),
        metadata: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.anything()),
        createdAt: fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          fc.anything(),
        ),
        __proto__: fc.option(fc.object(), { nil: undefined }),
      },
      { requiredKeys: [] },
    );
    const inputs = fc.oneof(
      fc.string(),
      fc.uint8Array(),
      fc.jsonValue().map((value) => JSON.stringify(value)),
      envelopeLike.map((value) => {
        try {
          return JSON.stringify(value) ?? '';
        } catch {
          return '';
        }
      }),
      fc
        .string()
        .map(
          (key) =>
            `{"v":1,"id":"i","kind":"event","name":"n","payload":{"${key}":{"__proto__":{"p":1}}},"metadata":{},"createdAt":"2026-01-01T00:00:00Z"}`,
        ),
    );
    fc.assert(
      fc.property(inputs, (input) => {
        try {
          const message = codec.decode(input);
          expect(typeof message.id).toBe('string');
          expect(['command', 'event', 'query']).toContain(message.kind);
          expect(Object.getPrototypeOf(message.metadata)).toBe(Object.prototype);
        } catch (error) {
          expect(
            isSwitchyardError(error, ErrorCode.DecodeError) ||
              isSwitchyardError(error, ErrorCode.PayloadTooLarge),
          ).toBe(true);
        }
        expect(({} as Record<string, unknown>).p).toBeUndefined();
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 2_000 },
    );
  });
});
