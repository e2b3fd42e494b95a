import { CommandBus, CommandRouter, type ErrorContext } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { ZeroMQConsumer, ZeroMQProducer } from '../src/index.ts';
import { Ping, receivingSide, rejectionOf, Slow, sendingSide, sleep, waitFor } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A consumer whose Ping handler takes `delayMs`, counting the pings it finished. */
function slowConsumer(options: {
  endpoint: string;
  concurrency: number;
  delayMs: number;
  closeTimeoutMs?: number;
}) {
  const handled: number[] = [];
  const errors: { error: unknown; context: ErrorContext }[] = [];
  const router = new CommandRouter();
  router.route(Ping).to(async (command) => {
    await sleep(options.delayMs);
    handled.push(command.payload.n);
  });
  const commandBus = new CommandBus();
  commandBus.use(router);
  const consumer = new ZeroMQConsumer({
    commandEndpoint: options.endpoint,
    concurrency: options.concurrency,
    closeTimeoutMs: options.closeTimeoutMs ?? 10_000,
    commandBus,
    onError: (error, context) => errors.push({ error, context }),
  });
  cleanups.push(() => consumer.close());
  return { consumer, handled, errors };
}

describe('zeromq consumer close: finishes what the transport already handed it', () => {
  it('handles all 500 commands in flight with concurrency 50, not only the 50 it was running', async () => {
    const { consumer, handled, errors } = slowConsumer({
      endpoint: 'tcp://127.0.0.1:0',
      concurrency: 50,
      delayMs: 10,
    });
    const bound = await consumer.start();
    const producer = new ZeroMQProducer({ commandEndpoint: bound.commands });
    cleanups.push(() => producer.close());
    await Promise.all(Array.from({ length: 500 }, (_, n) => producer.produce(Ping.create({ n }))));
    await waitFor(() => consumer.inFlight === 50);
    const handledWhenClosing = handled.length;
    await consumer.close();
    expect(handledWhenClosing).toBeLessThan(500); // most were still in the socket
    expect(handled).toHaveLength(500);
    expect(new Set(handled).size).toBe(500);
    expect(errors).toEqual([]);
  });

  it('stops accepting connections once drained: a producer sending after close() is refused', async () => {
    const { consumer, handled } = slowConsumer({
      endpoint: 'tcp://127.0.0.1:0',
      concurrency: 10,
      delayMs: 1,
    });
    const bound = await consumer.start();
    const producer = new ZeroMQProducer({ commandEndpoint: bound.commands, sendTimeoutMs: 200 });
    cleanups.push(() => producer.close());
    await producer.produce(Ping.create({ n: 1 }));
    await consumer.close();
    expect(handled).toEqual([1]);
    // Unbound: the connection is gone, so the next send finds no consumer and rejects.
    const outcome = await producer.produce(Ping.create({ n: 2 })).then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    expect(outcome).toBe('SWITCHYARD_TRANSPORT_ERROR');
  });

  it('with handlers that outlive closeTimeoutMs, closes in time and reports the commands left unread', async () => {
    const { consumer, handled, errors } = slowConsumer({
      endpoint: 'tcp://127.0.0.1:0',
      concurrency: 1,
      delayMs: 2_000,
      closeTimeoutMs: 300,
    });
    const bound = await consumer.start();
    const producer = new ZeroMQProducer({ commandEndpoint: bound.commands });
    cleanups.push(() => producer.close());
    const sent = Array.from({ length: 5 }, (_, n) => Ping.create({ n }));
    for (const command of sent) await producer.produce(command);
    await waitFor(() => consumer.inFlight === 1);
    await sleep(50); // the other four reach the consumer's socket
    const started = Date.now();
    await consumer.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(handled).toEqual([]);
    // Never nowhere: each command left in the socket is reported, with its id.
    expect(errors.map((entry) => entry.context.messageId)).toEqual(
      sent.slice(1).map((command) => command.id),
    );
    for (const { error, context } of errors) {
      expect((error as { code?: string }).code).toBe('SWITCHYARD_PRODUCER_CLOSED');
      expect(context.stage).toBe('receive');
    }
  });

  it('the reply a closing consumer sends last still reaches its caller (repeated: a race)', async () => {
    // With ZMQ_IMMEDIATE on the producer's Dealer, libzmq dropped a reply that was still unread when
    // the consumer closed the connection right after sending it: about one close in ten lost it.
    for (let round = 0; round < 30; round++) {
      const receiving = receivingSide();
      const consumer = new ZeroMQConsumer({ queryEndpoint: 'tcp://127.0.0.1:0', onError() {}, ...receiving });
      const bound = await consumer.start();
      const producer = new ZeroMQProducer({ queryEndpoint: bound.queries });
      const { queryBus } = sendingSide(producer);
      const last = queryBus.dispatch(Slow.create({ delayMs: 30, tag: `round ${round}` }));
      await waitFor(() => receiving.queries.length === 1);
      const closing = consumer.close();
      await rejectionOf(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'refused' })));
      const outcome = await Promise.race([last, sleep(2_000).then(() => 'lost' as const)]);
      await closing;
      await producer.close();
      expect(outcome).toEqual({ tag: `round ${round}` });
    }
  });
});
