import { ErrorCode, JsonCodec } from '@switchyard/core';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Dealer, Push } from 'zeromq';
import { ZeroMQConsumer, ZeroMQProducer } from '../src/index.ts';
import { Ping, receivingSide, Slow, sendingSide, waitFor } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Envelopes that are almost right: every field may be missing, mistyped or hostile. */
const nearEnvelope = fc
  .record(
    {
      v: fc.oneof(fc.constant(1), fc.anything()),
      id: fc.oneof(fc.uuid(), fc.string(), fc.anything()),
      kind: fc.oneof(fc.constantFrom('command', 'event', 'query'), fc.anything()),
      name: fc.oneof(fc.constantFrom('zeromq-test.Ping', 'zeromq-test.Slow'), fc.string()),
      payload: fc.anything(),
      metadata: fc.oneof(fc.object(), fc.anything()),
      createdAt: fc.oneof(
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.string(),
      ),
    },
    { requiredKeys: [] },
  )
  .map((envelope) => JSON.stringify(envelope).replace('"payload"', '"__proto__"'))
  .map((text) => Buffer.from(text));
const bytes = fc.uint8Array({ maxLength: 200 }).map((array) => Buffer.from(array));
const frame = fc.oneof(
  bytes,
  nearEnvelope,
  fc.string().map((text) => Buffer.from(text)),
);
const multipart = fc.array(frame, { minLength: 1, maxLength: 4 });

async function consumerUnderFire() {
  const receiving = receivingSide();
  const errors: unknown[] = [];
  const consumer = new ZeroMQConsumer({
    commandEndpoint: 'tcp://127.0.0.1:0',
    queryEndpoint: 'tcp://127.0.0.1:0',
    onError: (error) => errors.push(error),
    ...receiving,
  });
  const bound = await consumer.start();
  cleanups.push(() => consumer.close());
  return { receiving, errors, bound };
}

describe('zeromq consumer under random input', () => {
  it('reports and drops random frames on both sockets, and keeps serving', async () => {
    const { receiving, errors, bound } = await consumerUnderFire();
    const push = new Push({ linger: 0 });
    const dealer = new Dealer({ linger: 0 });
    cleanups.push(() => push.close());
    cleanups.push(() => dealer.close());
    push.connect(bound.commands[0]!);
    dealer.connect(bound.queries[0]!);
    const samples = fc.sample(multipart, { numRuns: 300, seed: 42 });
    for (const frames of samples) {
      await push.send(frames);
      await dealer.send(frames);
    }
    await waitFor(() => errors.length >= samples.length, 10_000);
    expect(errors.every((error) => typeof (error as { code?: unknown }).code === 'string')).toBe(true);

    const producer = new ZeroMQProducer({ commandEndpoint: bound.commands, queryEndpoint: bound.queries });
    cleanups.push(() => producer.close());
    const { commandBus, queryBus } = sendingSide(producer);
    await expect(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'alive' }))).resolves.toEqual({
      tag: 'alive',
    });
    await commandBus.dispatch(Ping.create({ n: 1 }));
    await waitFor(() => receiving.pings.some((ping) => (ping.payload as { n?: unknown }).n === 1));
  });

  it('answers an unreadable query envelope with a decode error on its correlation frame', async () => {
    const { bound, errors } = await consumerUnderFire();
    const dealer = new Dealer({ linger: 0 });
    cleanups.push(() => dealer.close());
    dealer.connect(bound.queries[0]!);
    const codec = new JsonCodec();
    for (const body of ['not json', '{"v":2}', '{"v":1,"id":"q1","kind":"command"}']) {
      await dealer.send(['corr-1', body]);
      const [correlation, reply] = await dealer.receive();
      expect(correlation!.toString()).toBe('corr-1');
      const decoded = codec.decodeReply(reply!);
      expect(decoded).toMatchObject({ inReplyTo: 'corr-1', ok: false });
      expect(decoded.ok === false && decoded.error.code).toBe(ErrorCode.DecodeError);
    }
    expect(errors).toHaveLength(3);
  });
});
