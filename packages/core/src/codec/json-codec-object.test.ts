import { describe, expect, it } from 'vitest';
import { defineQuery } from '../definitions.ts';
import { ErrorCode, isSwitchyardError } from '../errors.ts';
import { JsonCodec } from './json-codec.ts';

const Find = defineQuery<{ q: string }, string[]>('Find');
const codec = new JsonCodec();

describe('JsonCodec object form (for transports that write their own JSON around the envelope)', () => {
  it('encodeObject is what encode stringifies, and decodeObject reads it back as decode does', () => {
    const message = Find.create({ q: 'x' }, { metadata: { tenant: 't1' } });
    const object = codec.encodeObject(message);
    expect(JSON.stringify(object)).toBe(codec.encode(message));
    const decoded = codec.decodeObject(JSON.parse(JSON.stringify(object)));
    expect(decoded).toEqual(codec.decode(codec.encode(message)));
    expect(Object.isFrozen(decoded)).toBe(true);
  });

  it('decodeObject refuses what decode refuses: not an object, another version, "__proto__" keys', () => {
    const valid = codec.encodeObject(Find.create({ q: 'x' }));
    for (const bad of [
      null,
      'text',
      [valid],
      { ...valid, v: 2 },
      { ...valid, kind: 'other' },
      JSON.parse(JSON.stringify(valid).replace('"q":"x"', '"__proto__":{"polluted":true}')),
    ]) {
      let caught: unknown;
      try {
        codec.decodeObject(bad);
      } catch (error) {
        caught = error;
      }
      expect(isSwitchyardError(caught, ErrorCode.DecodeError)).toBe(true);
    }
  });
});
