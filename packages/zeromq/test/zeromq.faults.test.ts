import { CommandBus, CommandRouter, ErrorCode, isSwitchyardError, JsonCodec } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Router } from 'zeromq';
import { isBatch, readBatch } from '../src/batch-frames.ts';
import { ZeroMQConsumer, ZeroMQProducer } from '../src/index.ts';
import {
  freePort,
  Ping,
  receivingSide,
  rejectionOf,
  rootOf,
  Slow,
  sendingSide,
  sleep,
  startOnReleasedPort,
  waitFor,
} from './helpers.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function track<T extends { close(): Promise<void> | void }>(closable: T): T {
  cleanups.push(() => closable.close());
  return closable;
}

describe('zeromq faults: no consumer running', () => {
  it('rejects queries buffered for a consumer that is not up (immediate: false) at their timeout', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const producer = track(
      new ZeroMQProducer({ queryEndpoint: endpoint, immediate: false, replyTimeoutMs: 300 }),
    );
    const { queryBus } = sendingSide(producer);
    const started = Date.now();
    const [byCaller, byProducer] = await Promise.all([
      rejectionOf(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'a' }), { timeoutMs: 150 })),
      rejectionOf(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'b' }))),
    ]);
    expect(isSwitchyardError(byCaller, ErrorCode.Timeout)).toBe(true);
    expect(isSwitchyardError(byProducer, ErrorCode.Timeout)).toBe(true); // replyTimeoutMs backstop
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(producer.pendingReplies).toBe(0);
  });

  it('rejects a query with TRANSPORT_ERROR after sendTimeoutMs, or at the caller timeout if sooner', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const producer = track(new ZeroMQProducer({ queryEndpoint: endpoint, sendTimeoutMs: 300 }));
    const { queryBus } = sendingSide(producer);
    const started = Date.now();
    const [byCaller, bySend] = await Promise.all([
      rejectionOf(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'a' }), { timeoutMs: 150 })),
      rejectionOf(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'b' }))),
    ]);
    expect(isSwitchyardError(byCaller, ErrorCode.Timeout)).toBe(true);
    expect(isSwitchyardError(bySend, ErrorCode.TransportError)).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(producer.pendingReplies).toBe(0);
  });

  it('accepts commands up to the high-water mark, then rejects instead of blocking', async () => {
    const port = await freePort();
    const endpoint = `tcp://127.0.0.1:${port}`;
    // Buffering for a consumer that is not up yet is the explicit `immediate: false`.
    const producer = track(
      new ZeroMQProducer({
        commandEndpoint: endpoint,
        immediate: false,
        sendHighWaterMark: 5,
        sendTimeoutMs: 200,
      }),
    );
    let accepted = 0;
    let refusal: unknown;
    for (let n = 0; n < 50 && refusal === undefined; n++) {
      try {
        await producer.produce(Ping.create({ n }));
        accepted++;
      } catch (error) {
        refusal = error;
      }
    }
    expect(accepted).toBeGreaterThanOrEqual(5);
    expect(accepted).toBeLessThan(50);
    expect(isSwitchyardError(refusal, ErrorCode.TransportError)).toBe(true);

    // Many at once: the bounded queue refuses the excess at once, the rest fail at the send timeout.
    const burst = track(
      new ZeroMQProducer({
        commandEndpoint: `tcp://127.0.0.1:${await freePort()}`,
        immediate: false,
        sendHighWaterMark: 1,
        sendTimeoutMs: 200,
        maxQueuedSends: 10,
      }),
    );
    const outcomes = await Promise.race([
      Promise.allSettled(Array.from({ length: 50 }, (_, n) => burst.produce(Ping.create({ n })))),
      sleep(5_000).then(() => 'still blocked' as const),
    ]);
    expect(outcomes).not.toBe('still blocked');
    const reasons = (outcomes as PromiseSettledResult<void>[]).flatMap((outcome) =>
      outcome.status === 'rejected' ? [outcome.reason] : [],
    );
    expect(reasons.some((reason) => isSwitchyardError(reason, ErrorCode.Backpressure))).toBe(true);
    expect(reasons.some((reason) => isSwitchyardError(reason, ErrorCode.TransportError))).toBe(true);

    // The commands accepted while nobody listened are delivered once a consumer binds (not immediate).
    const receiving = receivingSide();
    const consumer = track(new ZeroMQConsumer({ commandEndpoint: endpoint, ...receiving }));
    await consumer.start();
    await waitFor(() => receiving.pings.length >= accepted, 5_000);
    expect(receiving.pings.map((ping) => (ping.payload as { n: number }).n).slice(0, accepted)).toEqual(
      Array.from({ length: accepted }, (_, n) => n),
    );
  });

  it('with sendTimeoutMs 0, rejects at once when the high-water mark is reached', async () => {
    const producer = track(
      new ZeroMQProducer({
        commandEndpoint: `tcp://127.0.0.1:${await freePort()}`,
        immediate: false,
        sendHighWaterMark: 2,
        sendTimeoutMs: 0,
      }),
    );
    const outcomes: string[] = [];
    for (let n = 0; n < 20; n++) {
      try {
        await producer.produce(Ping.create({ n }));
        outcomes.push('queued');
      } catch (error) {
        outcomes.push(isSwitchyardError(error, ErrorCode.TransportError) ? 'refused' : String(error));
      }
    }
    // A few fit below the mark (libzmq rounds it per pipe); every send after that is refused.
    const firstRefusal = outcomes.indexOf('refused');
    expect(firstRefusal).toBeGreaterThanOrEqual(2);
    expect(outcomes.slice(firstRefusal).every((outcome) => outcome === 'refused')).toBe(true);
  });

  it('rejects a command after sendTimeoutMs when no consumer is connected (immediate by default)', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const producer = track(new ZeroMQProducer({ commandEndpoint: endpoint, sendTimeoutMs: 150 }));
    const router = new CommandRouter();
    router.route(Ping).to(producer);
    const commandBus = new CommandBus();
    commandBus.use(router);
    const started = Date.now();
    const error = await rejectionOf(commandBus.dispatch(Ping.create({ n: 1 })));
    const elapsed = Date.now() - started;
    expect(isSwitchyardError(error, ErrorCode.TransportError)).toBe(true);
    expect((error as { name?: unknown }).name).toBe('DispatchError');
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(3_000);
    // Nothing was buffered for later: a consumer that comes up now receives nothing.
    const receiving = receivingSide();
    const consumer = track(new ZeroMQConsumer({ commandEndpoint: endpoint, ...receiving }));
    await consumer.start();
    await sleep(300);
    expect(receiving.pings).toEqual([]);
  });
});

describe('zeromq faults: consumer restarted', () => {
  it('answers again without recreating the producer; late replies resolve nothing', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const first = receivingSide();
    let consumer = new ZeroMQConsumer({ queryEndpoint: endpoint, ...first });
    await consumer.start();
    const producer = track(new ZeroMQProducer({ queryEndpoint: endpoint, heartbeatIntervalMs: 100 }));
    const { queryBus } = sendingSide(producer);
    await expect(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'before' }))).resolves.toEqual({
      tag: 'before',
    });
    // A query the old consumer answers only after its caller gave up: that reply must go nowhere.
    const abandoned = rejectionOf(
      queryBus.dispatch(Slow.create({ delayMs: 300, tag: 'old' }), { timeoutMs: 50 }),
    );
    expect(isSwitchyardError(await abandoned, ErrorCode.Timeout)).toBe(true);
    await consumer.close(); // waits for the slow handler and sends its (late) reply
    expect(first.queries).toContain('old');

    const second = receivingSide();
    consumer = await startOnReleasedPort(async () => {
      const restarted = new ZeroMQConsumer({ queryEndpoint: endpoint, ...second });
      await restarted.start();
      return restarted;
    });
    cleanups.push(() => consumer.close());
    // At-most-once: a query written into the dying connection is lost and times out, so the first
    // probe may need a retry while the Dealer notices the disconnect and reconnects by itself.
    let probe: unknown;
    for (let attempt = 0; attempt < 10 && probe === undefined; attempt++) {
      probe = await queryBus
        .dispatch(Slow.create({ delayMs: 0, tag: `probe${attempt}` }), { timeoutMs: 500 })
        .catch(() => undefined);
    }
    expect(probe).toMatchObject({ tag: expect.stringMatching(/^probe\d$/) });
    const results = await Promise.all(
      ['x', 'y', 'z'].map((tag) => queryBus.dispatch(Slow.create({ delayMs: 5, tag }), { timeoutMs: 5_000 })),
    );
    expect(results).toEqual([{ tag: 'x' }, { tag: 'y' }, { tag: 'z' }]);
    expect(second.queries.filter((tag) => !tag.startsWith('probe')).sort()).toEqual(['x', 'y', 'z']);
    expect(producer.pendingReplies).toBe(0);
  });

  it('never settles a query with a reply meant for another one', async () => {
    // A raw Router stands in for a confused consumer: stale ids, swapped envelopes, then the truth.
    const router = new Router({ linger: 0 });
    await router.bind('tcp://127.0.0.1:0');
    cleanups.push(() => router.close());
    const codec = new JsonCodec();
    const serve = (async () => {
      const received: Buffer[][] = [];
      for await (const frames of router) {
        // The producer may send both queries in one batch: [identity, batch frame].
        if (isBatch(frames, 1)) {
          for (const { id, data } of readBatch(frames[1]!)) received.push([frames[0]!, id, data]);
        } else received.push(frames);
        if (received.length < 2) continue;
        const [a, b] = received as [Buffer[], Buffer[]];
        const idOf = (frames: Buffer[]) => frames[1]!.toString();
        const reply = (inReplyTo: string, result: unknown) =>
          codec.encodeReply({ inReplyTo, ok: true, result });
        await router.send([
          a[0]!,
          'stale-id-from-an-old-connection',
          reply('stale-id-from-an-old-connection', 'x'),
        ]);
        await router.send([a[0]!, a[1]!, reply(idOf(b), 'wrong: b in a frame')]);
        await router.send([b[0]!, b[1]!, reply(idOf(a), 'wrong: a in b frame')]);
        await router.send([a[0]!, a[1]!]); // malformed: no reply frame
        await router.send([b[0]!, b[1]!, reply(idOf(b), 'b')]);
        await router.send([a[0]!, a[1]!, reply(idOf(a), 'a')]);
        break;
      }
    })().catch(() => undefined);
    const reported: { error: unknown; stage: string }[] = [];
    const producer = track(
      new ZeroMQProducer({
        queryEndpoint: router.lastEndpoint!,
        onError: (error, context) => reported.push({ error, stage: context.stage }),
      }),
    );
    const { queryBus } = sendingSide(producer);
    const results = await Promise.all([
      queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'a' }), { timeoutMs: 5_000 }),
      queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'b' }), { timeoutMs: 5_000 }),
    ]);
    expect(results).toEqual(['a', 'b']);
    await serve;
    // The two swapped replies and the malformed one are reported, not silently dropped.
    expect(reported.filter((entry) => entry.stage === 'reply')).toHaveLength(3);
  });
});

describe('zeromq graceful close', () => {
  it('answers queries that arrive while the consumer closes with a typed error', async () => {
    const receiving = receivingSide();
    const consumer = new ZeroMQConsumer({ queryEndpoint: 'tcp://127.0.0.1:0', ...receiving });
    const bound = await consumer.start();
    const producer = track(new ZeroMQProducer({ queryEndpoint: bound.queries }));
    const { queryBus } = sendingSide(producer);
    const inFlight = queryBus.dispatch(Slow.create({ delayMs: 300, tag: 'finishing' }));
    await waitFor(() => receiving.queries.length === 1);
    const closing = consumer.close();
    const late = await rejectionOf(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'late' })));
    expect(isSwitchyardError(late, ErrorCode.RemoteError)).toBe(true);
    expect((rootOf(late) as { remoteCode?: string }).remoteCode).toBe(ErrorCode.ProducerClosed);
    await expect(inFlight).resolves.toEqual({ tag: 'finishing' });
    await closing;
    expect(receiving.queries).toEqual(['finishing']);
  });

  it('rejects queued and waiting messages on producer close, within closeTimeoutMs and the linger', async () => {
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    const producer = new ZeroMQProducer({
      commandEndpoint: endpoint,
      queryEndpoint: endpoint,
      immediate: false,
      sendHighWaterMark: 1,
      sendTimeoutMs: 60_000,
      closeTimeoutMs: 100,
      lingerMs: 100,
    });
    const { queryBus } = sendingSide(producer);
    const commands = Array.from({ length: 5 }, (_, n) => producer.produce(Ping.create({ n })));
    const query = queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'never' }));
    await sleep(50);
    const started = Date.now();
    await producer.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    const outcomes = await Promise.allSettled([...commands, query]);
    const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(rejected.length).toBeGreaterThanOrEqual(4); // the first command fits under the mark
    for (const outcome of rejected) {
      expect(isSwitchyardError((outcome as PromiseRejectedResult).reason, ErrorCode.ProducerClosed)).toBe(
        true,
      );
    }
    const after = await rejectionOf(producer.produce(Ping.create({ n: 99 })));
    expect(isSwitchyardError(after, ErrorCode.ProducerClosed)).toBe(true);
  });
});

describe('zeromq message size limit', () => {
  it('disconnects a producer that sends a message over maxMessageBytes, and keeps serving others', async () => {
    const receiving = receivingSide();
    const consumer = track(
      new ZeroMQConsumer({ queryEndpoint: 'tcp://127.0.0.1:0', maxMessageBytes: 2_048, ...receiving }),
    );
    const bound = await consumer.start();
    const big = sendingSide(track(new ZeroMQProducer({ queryEndpoint: bound.queries })));
    const error = await rejectionOf(
      big.queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'x'.repeat(4_096) }), { timeoutMs: 300 }),
    );
    expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
    const small = sendingSide(track(new ZeroMQProducer({ queryEndpoint: bound.queries })));
    await expect(small.queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'ok' }))).resolves.toEqual({
      tag: 'ok',
    });
    expect(receiving.queries).toEqual(['ok']);
  });
});
