import {
  defineQuery,
  ErrorCode,
  isSwitchyardError,
  JsonCodec,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Dealer } from 'zeromq';
import { ZeroMQConsumer, ZeroMQProducer, type ZeroMQProducerOptions } from '../src/index.ts';
import { rejectionOf, sleep, waitFor } from './helpers.ts';

const Wait = defineQuery<{ tag: string }, { fired: boolean }>('zeromq-test.Wait');

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A consumer whose Wait handler waits (at most 5 s) for its signal, recording when it fired. */
async function watchingConsumer() {
  const started = new Set<string>();
  const fired = new Map<string, number>();
  const finders = new QueryRouter();
  finders.route(Wait).to(
    (query, { signal }) =>
      new Promise<{ fired: boolean }>((resolve) => {
        started.add(query.payload.tag);
        const timer = setTimeout(() => resolve({ fired: false }), 5_000);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          fired.set(query.payload.tag, Date.now());
          resolve({ fired: true });
        });
      }),
  );
  const queryBus = new QueryBus();
  queryBus.use(finders);
  const consumer = new ZeroMQConsumer({ queryEndpoint: 'tcp://127.0.0.1:0', queryBus, onError() {} });
  const bound = await consumer.start();
  cleanups.push(() => consumer.close());
  return { consumer, bound, started, fired };
}

function queryBusTo(endpoints: readonly string[], options: Partial<ZeroMQProducerOptions> = {}) {
  const producer = new ZeroMQProducer({ queryEndpoint: endpoints, ...options });
  cleanups.push(() => producer.close());
  const finders = new QueryRouter();
  finders.route(Wait).to(producer);
  const queryBus = new QueryBus();
  queryBus.use(finders);
  return queryBus;
}

describe('zeromq cancel frame', () => {
  it("fires the remote handler's signal when the caller aborts a query that has no deadline", async () => {
    const { consumer, bound, started, fired } = await watchingConsumer();
    const queryBus = queryBusTo(bound.queries);
    const controller = new AbortController();
    const pending = queryBus.dispatch(Wait.create({ tag: 'aborted' }), { signal: controller.signal });
    await waitFor(() => started.has('aborted'));
    const abortedAt = Date.now();
    controller.abort();
    expect(isSwitchyardError(await rejectionOf(pending), ErrorCode.Aborted)).toBe(true);
    await waitFor(() => fired.has('aborted'), 2_000);
    expect(fired.get('aborted')! - abortedAt).toBeLessThan(1_000);
    await waitFor(() => consumer.inFlight === 0, 2_000);
  });

  it("fires it when the producer's replyTimeoutMs gives up on the reply", async () => {
    const { bound, started, fired } = await watchingConsumer();
    const queryBus = queryBusTo(bound.queries, { replyTimeoutMs: 200 });
    const sentAt = Date.now();
    const error = await rejectionOf(queryBus.dispatch(Wait.create({ tag: 'reply timeout' })));
    expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
    expect(started.has('reply timeout')).toBe(true);
    await waitFor(() => fired.has('reply timeout'), 2_000);
    expect(fired.get('reply timeout')! - sentAt).toBeLessThan(1_500);
  });

  it('a closing producer cancels the queries it gives up on', async () => {
    const { bound, started, fired } = await watchingConsumer();
    const producer = new ZeroMQProducer({ queryEndpoint: bound.queries, closeTimeoutMs: 100 });
    cleanups.push(() => producer.close());
    const finders = new QueryRouter();
    finders.route(Wait).to(producer);
    const queryBus = new QueryBus();
    queryBus.use(finders);
    const tags = ['a', 'b', 'c'];
    const pending = tags.map((tag) => rejectionOf(queryBus.dispatch(Wait.create({ tag }))));
    await waitFor(() => tags.every((tag) => started.has(tag)));
    await producer.close();
    for (const error of await Promise.all(pending)) {
      expect(isSwitchyardError(error, ErrorCode.ProducerClosed)).toBe(true);
    }
    await waitFor(() => tags.every((tag) => fired.has(tag)), 2_000);
  });

  it('only the connection that sent a query can cancel it', async () => {
    const { bound, started, fired } = await watchingConsumer();
    const codec = new JsonCodec();
    const owner = new Dealer({ linger: 0 });
    const stranger = new Dealer({ linger: 0 });
    cleanups.push(() => owner.close());
    cleanups.push(() => stranger.close());
    owner.connect(bound.queries[0]!);
    stranger.connect(bound.queries[0]!);
    const query = Wait.create({ tag: 'owned' });
    await owner.send([query.id, codec.encode(query)]);
    await waitFor(() => started.has('owned'));
    await stranger.send([query.id, '']);
    await sleep(200);
    expect(fired.has('owned')).toBe(false);
    await owner.send([query.id, '']);
    await waitFor(() => fired.has('owned'), 2_000);
    // A cancel for a query that is not running (finished, or never sent) is ignored.
    await owner.send(['no-such-query', '']);
    await owner.send([Wait.create({ tag: 'fresh' }).id, '']);
  });
});
