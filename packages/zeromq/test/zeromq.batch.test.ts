import { JsonCodec, QueryBus, QueryRouter } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Dealer, Router } from 'zeromq';
import { BATCH_V1, isBatch, joinBatch, readBatch } from '../src/batch-frames.ts';
import { ZeroMQConsumer, ZeroMQProducer } from '../src/index.ts';
import { receivingSide, Slow, sendingSide, waitFor } from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const codec = new JsonCodec();

/** A raw Router standing in for a consumer: records every message, answers each query (batched like it came). */
async function rawConsumer() {
  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:0');
  const messages: Buffer[][] = [];
  const loop = (async () => {
    for await (const frames of router) {
      messages.push(frames);
      const batch = isBatch(frames, 1);
      const entries = batch ? readBatch(frames[1]!) : [{ id: frames[1]!, data: frames[2]! }];
      const replies = entries.map(({ id, data }) => {
        const query = codec.decode(data) as unknown as { id: string; payload: { tag: string } };
        const reply = codec.encodeReply({
          inReplyTo: query.id,
          ok: true,
          result: { tag: query.payload.tag },
        });
        return [frames[0]!, id, reply];
      });
      await router.send(batch ? joinBatch(replies, true) : replies[0]!);
    }
  })().catch(() => undefined);
  cleanups.push(async () => {
    router.close();
    await loop;
  });
  return { endpoint: router.lastEndpoint!, messages };
}

/** A consumer whose finder answers at once, so the replies of one batch are written in the same tick. */
async function answeringConsumer(onError?: (error: unknown) => void) {
  const answered: string[] = [];
  const finders = new QueryRouter();
  finders.route(Slow).to((query) => {
    answered.push(query.payload.tag);
    return { tag: query.payload.tag };
  });
  const queryBus = new QueryBus();
  queryBus.use(finders);
  const consumer = new ZeroMQConsumer({
    queryEndpoint: 'tcp://127.0.0.1:0',
    queryBus,
    ...(onError === undefined ? {} : { onError }),
  });
  cleanups.push(() => consumer.close());
  const { queries } = await consumer.start();
  const dealer = new Dealer({ linger: 0 });
  cleanups.push(() => dealer.close());
  dealer.connect(queries[0]!);
  return { answered, dealer };
}

describe('zeromq batches', () => {
  it('reads back what it joins: ids and data of any size, strings and bytes', () => {
    const writes = [
      ['id-1', '{"a":"é"}'],
      ['id-2', new Uint8Array([0, 1, 2])],
      ['x'.repeat(256), 'y'.repeat(70_000)],
    ];
    const [frame] = joinBatch(writes, false) as [Buffer];
    expect(frame.subarray(0, BATCH_V1.length).toString()).toBe(BATCH_V1);
    expect(isBatch([frame], 0)).toBe(true);
    const entries = readBatch(frame);
    expect(entries.map(({ id }) => id.toString())).toEqual(['id-1', 'id-2', 'x'.repeat(256)]);
    expect(entries[0]!.data.toString()).toBe('{"a":"é"}');
    expect([...entries[1]!.data]).toEqual([0, 1, 2]);
    expect(entries[2]!.data.length).toBe(70_000);
    expect(() => readBatch(frame.subarray(0, frame.length - 1))).toThrow(/cut short/);
    expect(isBatch([Buffer.from('id'), Buffer.from('{}')], 0)).toBe(false); // a single query or reply
  });

  it('sends queries written in one tick as one versioned batch, and reads batched replies', async () => {
    const consumer = await rawConsumer();
    const producer = new ZeroMQProducer({ queryEndpoint: consumer.endpoint });
    cleanups.push(() => producer.close());
    const { queryBus } = sendingSide(producer);
    const tags = Array.from({ length: 600 }, (_, n) => `q${n}`);
    const answers = await Promise.all(tags.map((tag) => queryBus.dispatch(Slow.create({ delayMs: 0, tag }))));
    expect(answers.map((answer) => answer.tag)).toEqual(tags);
    const batches = consumer.messages
      .filter((frames) => isBatch(frames, 1))
      .map((frames) => readBatch(frames[1]!));
    expect(batches.length).toBeGreaterThan(0);
    for (const entries of batches) expect(entries.length).toBeLessThanOrEqual(256);
    // Every query went out exactly once, alone or in a batch.
    const sent = consumer.messages.flatMap((frames) =>
      isBatch(frames, 1) ? readBatch(frames[1]!).map(({ id }) => id) : [frames[1]!],
    );
    expect(new Set(sent.map((id) => id.toString())).size).toBe(600);
    expect(sent).toHaveLength(600);
  });

  it('sends every query alone with coalesceQueries: false (for consumers that cannot read batches)', async () => {
    const consumer = await rawConsumer();
    const producer = new ZeroMQProducer({ queryEndpoint: consumer.endpoint, coalesceQueries: false });
    cleanups.push(() => producer.close());
    const { queryBus } = sendingSide(producer);
    await Promise.all(
      Array.from({ length: 100 }, (_, n) => queryBus.dispatch(Slow.create({ delayMs: 0, tag: `${n}` }))),
    );
    expect(consumer.messages).toHaveLength(100);
    expect(consumer.messages.every((frames) => frames.length === 3)).toBe(true);
  });

  it('answers each query of a batch, in batches of its slices; a batch of an unknown version is reported, not run', async () => {
    const errors: unknown[] = [];
    const { answered, dealer } = await answeringConsumer((error) => errors.push(error));
    const made = Array.from({ length: 100 }, (_, n) => Slow.create({ delayMs: 0, tag: `t${n}` }));
    await dealer.send(
      joinBatch(
        made.map((query) => [query.id, codec.encode(query)]),
        false,
      ),
    );
    const replies = new Map<string, unknown>();
    const perMessage: number[] = [];
    while (replies.size < made.length) {
      const frames = await dealer.receive();
      const entries = isBatch(frames, 0) ? readBatch(frames[0]!) : [{ id: frames[0]!, data: frames[1]! }];
      perMessage.push(entries.length);
      for (const { id, data } of entries) replies.set(id.toString(), codec.decodeReply(data));
    }
    for (const query of made) {
      expect(replies.get(query.id)).toEqual({
        inReplyTo: query.id,
        ok: true,
        result: { tag: query.payload.tag },
      });
    }
    // The batch is handled in slices of 16, and the replies of a slice leave before the next slice
    // is handled: batched, but never all 100 in one message.
    expect(perMessage[0]).toBeGreaterThan(1);
    expect(perMessage[0]).toBeLessThanOrEqual(16);
    expect(perMessage.length).toBeGreaterThanOrEqual(2);
    expect(perMessage.length).toBeLessThan(100);
    expect(answered).toHaveLength(100);

    const future = Slow.create({ delayMs: 0, tag: 'future' });
    const [v1] = joinBatch([[future.id, codec.encode(future)]], false) as [Buffer];
    const v2 = Buffer.concat([Buffer.from('\u0000switchyard-batch/2'), v1.subarray(BATCH_V1.length)]);
    await dealer.send([v2]);
    await waitFor(() => errors.length === 1);
    expect(String((errors[0] as Error).message)).toMatch(/Unsupported ZeroMQ batch version "2/);
    expect(answered).not.toContain('future');
  });

  it('answers every query of a batch it is still handling at close before its reply socket closes', async () => {
    // Concurrency 2 and slow handlers: the batch waits for free slots when close cuts it off.
    const errors: { error: unknown; stage: string }[] = [];
    const { queries, queryBus } = receivingSide();
    const consumer = new ZeroMQConsumer({
      queryEndpoint: 'tcp://127.0.0.1:0',
      queryBus,
      concurrency: 2,
      closeTimeoutMs: 50,
      onError: (error, context) => errors.push({ error, stage: context.stage }),
    });
    const closed = { done: false };
    cleanups.push(async () => {
      if (!closed.done) await consumer.close();
    });
    const { queries: endpoints } = await consumer.start();
    const dealer = new Dealer({ linger: 0, receiveTimeout: 5_000 });
    cleanups.push(() => dealer.close());
    dealer.connect(endpoints[0]!);
    const made = Array.from({ length: 40 }, (_, n) => Slow.create({ delayMs: 2_000, tag: `c${n}` }));
    await dealer.send(
      joinBatch(
        made.map((query) => [query.id, codec.encode(query)]),
        false,
      ),
    );
    await waitFor(() => queries.length === 2);
    await consumer.close();
    closed.done = true;
    const codes = new Map<string, unknown>();
    while (codes.size < made.length) {
      const frames = await dealer.receive(); // rejects after 5 s if a reply never comes
      const entries = isBatch(frames, 0) ? readBatch(frames[0]!) : [{ id: frames[0]!, data: frames[1]! }];
      for (const { id, data } of entries) {
        const reply = codec.decodeReply(data);
        codes.set(id.toString(), reply.ok ? 'ok' : reply.error.code);
      }
    }
    expect(new Set(codes.values())).toEqual(new Set(['SWITCHYARD_PRODUCER_CLOSED']));
    expect(queries).toHaveLength(2); // the other 38 were refused, not run
    expect(errors.filter(({ stage }) => stage === 'reply')).toEqual([]);
  });

  it('answers single queries with single replies (producers that never batch)', async () => {
    const { dealer } = await answeringConsumer();
    const made = Array.from({ length: 50 }, (_, n) => Slow.create({ delayMs: 0, tag: `${n}` }));
    for (const query of made) await dealer.send([query.id, codec.encode(query)]);
    for (let n = 0; n < made.length; n++) {
      const frames = await dealer.receive();
      expect(frames).toHaveLength(2); // never a batch to a peer that did not send one
    }
  });
});
