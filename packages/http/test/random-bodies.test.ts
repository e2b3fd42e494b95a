import { Fixtures } from '@switchyard/conformance';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpConsumer } from '../src/index.ts';
import { post, rawAgent, startConsumer } from './harness.ts';

let consumer: HttpConsumer;
let url: string;
const reported: unknown[] = [];

beforeAll(async () => {
  ({ consumer, url } = await startConsumer({
    maxMessageBytes: 64 * 1024,
    onError: (error) => reported.push(error),
  }));
});
afterAll(async () => {
  await consumer.close();
  await rawAgent.close();
});

const names = fc.constantFrom(
  Fixtures.Command.name,
  Fixtures.Add.name,
  Fixtures.Validated.name,
  'unknown.Name',
  '',
  '__proto__',
);
const envelopeLike = fc.record(
  {
    v: fc.oneof(fc.constant(1), fc.jsonValue()),
    id: fc.oneof(fc.uuid(), fc.string(), fc.integer()),
    kind: fc.oneof(fc.constantFrom('command', 'event', 'query'), fc.string()),
    name: fc.oneof(names, fc.string()),
    payload: fc.oneof(
      fc.jsonValue(),
      fc.record({ a: fc.integer(), b: fc.integer() }),
      fc.record({ text: fc.string() }),
      fc.record({ count: fc.oneof(fc.integer(), fc.string()) }),
    ),
    metadata: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
    createdAt: fc.oneof(
      fc.date({ noInvalidDate: true }).map((date) => date.toISOString()),
      fc.string(),
    ),
  },
  { requiredKeys: [] },
);
const bodies = fc.oneof(
  fc.string().map((text) => Buffer.from(text, 'utf8')),
  fc.uint8Array({ maxLength: 2_048 }).map((bytes) => Buffer.from(bytes)),
  fc.jsonValue().map((value) => Buffer.from(JSON.stringify(value) ?? 'null', 'utf8')),
  envelopeLike.map((value) => Buffer.from(JSON.stringify(value), 'utf8')),
  envelopeLike.map((value) => {
    // Truncate a plausible envelope somewhere.
    const text = JSON.stringify(value);
    return Buffer.from(text.slice(0, Math.floor(text.length / 2)), 'utf8');
  }),
);

describe('http consumer: random bodies', () => {
  it('never answers 5xx and never crashes, whatever the body', async () => {
    await fc.assert(
      fc.asyncProperty(bodies, async (body) => {
        const { status } = await post(url, body);
        expect(status).toBeGreaterThanOrEqual(200);
        expect(status).toBeLessThan(500);
      }),
      { numRuns: 400 },
    );
    // And it still works afterwards.
    const ok = await post(
      url,
      JSON.stringify({
        v: 1,
        id: crypto.randomUUID(),
        kind: 'query',
        name: Fixtures.Add.name,
        payload: { a: 20, b: 22 },
        metadata: {},
        createdAt: new Date().toISOString(),
      }),
    );
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ ok: true, result: { sum: 42 } });
    expect(reported.length).toBeGreaterThan(0);
  });
});
