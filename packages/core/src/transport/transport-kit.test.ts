import { describe, expect, it } from 'vitest';
import { JsonCodec } from '../codec/json-codec.ts';
import { CommandBus } from '../command-bus.ts';
import { defineCommand, defineQuery } from '../definitions.ts';
import { DispatchError, ErrorCode, NoHandlerError, ValidationError } from '../errors.ts';
import { InMemoryChannel } from '../in-memory/in-memory-channel.ts';
import { InMemoryConsumer } from '../in-memory/in-memory-consumer.ts';
import { InMemoryProducer } from '../in-memory/in-memory-producer.ts';
import { CommandRouter } from '../plugins/command-router.ts';
import { QueryRouter } from '../plugins/query-router.ts';
import { QueryBus } from '../query-bus.ts';
import { ErrorReporter } from './error-reporter.ts';
import { failureOutcome } from './failure-outcome.ts';
import { Lifecycle } from './lifecycle.ts';
import type { ProducerWire } from './producer-wire.ts';
import { TransportProducer } from './transport-producer.ts';

const Big = defineCommand<{ blob: string }>('Big');
const Ask = defineQuery<Record<string, never>, number>('Ask');

describe('Lifecycle', () => {
  it('starts once, closes once (a second close waits for the first), refuses start after close', async () => {
    const lifecycle = new Lifecycle<string>('Thing', { closeTimeoutMs: 1_000 });
    let opened = 0;
    const open = async () => `address ${++opened}`;
    const [a, b] = await Promise.all([lifecycle.start(open), lifecycle.start(open)]);
    expect([a, b, opened]).toEqual(['address 1', 'address 1', 1]);
    const order: string[] = [];
    const release = async (): Promise<void> => {
      await new Promise<void>((resolve) => setTimeout(resolve, 20));
      order.push('released');
    };
    const first = lifecycle.close({ release }).then(() => order.push('first'));
    const second = lifecycle
      .close({ release: () => void order.push('never') })
      .then(() => order.push('second'));
    await Promise.all([first, second]);
    expect(order).toEqual(['released', 'first', 'second']);
    expect(lifecycle.state).toBe('closed');
    await expect(lifecycle.start(open)).rejects.toMatchObject({ code: ErrorCode.InvalidConfiguration });
  });

  it('waits for work in flight at most closeTimeoutMs, then releases with drained = false', async () => {
    const lifecycle = new Lifecycle<string>('Thing', { closeTimeoutMs: 30 });
    lifecycle.inFlight.enter();
    let drained: boolean | undefined;
    const started = Date.now();
    await lifecycle.close({
      release: (value) => {
        drained = value;
      },
    });
    expect(drained).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('lets a failed start be retried', async () => {
    const lifecycle = new Lifecycle<string>('Thing', {});
    await expect(lifecycle.start(async () => Promise.reject(new Error('port taken')))).rejects.toThrow(
      'port taken',
    );
    await expect(lifecycle.start(async () => 'ok')).resolves.toBe('ok');
  });
});

describe('the outcome table', () => {
  it('maps error codes to retry, dead letter and status, the same for every consumer', () => {
    expect(failureOutcome(new ValidationError('X', []))).toMatchObject({
      failure: 'validation',
      retry: false,
      status: 422,
    });
    expect(failureOutcome(new Error('boom'))).toMatchObject({
      failure: 'handler',
      retry: true,
      deadLetter: true,
      status: 500,
    });
    const unknown = new DispatchError(new NoHandlerError('nobody'), 'X', 'invoke-handler');
    expect(failureOutcome(unknown)).toMatchObject({ failure: 'unknown-message', status: 404 });
    // A dispatch the handler made failed: the handler failed, the message itself is not unknown.
    const nested = new DispatchError(unknown, 'Outer', 'invoke-handler');
    expect(failureOutcome(nested)).toMatchObject({ failure: 'handler', status: 500 });
  });
});

describe('TransportProducer (through the in-memory wire)', () => {
  it('refuses non-messages and oversized messages at the sender', async () => {
    const producer = new InMemoryProducer({ channel: new InMemoryChannel(), maxMessageBytes: 1_000 });
    await expect(producer.produce({ name: 'Big' } as never)).rejects.toMatchObject({
      code: ErrorCode.InvalidMessage,
    });
    await expect(producer.produce(Big.create({ blob: 'x'.repeat(2_000) }))).rejects.toMatchObject({
      code: ErrorCode.PayloadTooLarge,
    });
    expect(() => new InMemoryProducer({ channel: new InMemoryChannel(), replyTimeoutMs: 0 })).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidConfiguration }),
    );
  });

  it('reports an unreadable reply instead of swallowing it', async () => {
    const errors: unknown[] = [];
    const channel = new InMemoryChannel();
    channel.listen({ deliver: (delivery) => delivery.reply?.('not json') });
    const producer = new InMemoryProducer({
      channel,
      onError: (error) => errors.push(error),
      replyTimeoutMs: 50,
    });
    const { Deferred } = await import('../deferred.ts');
    const deferred = new Deferred<unknown>();
    deferred.promise.catch(() => undefined);
    await producer.produce(Ask.create({}), { deferred });
    await expect(deferred.promise).rejects.toMatchObject({ code: ErrorCode.Timeout });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: ErrorCode.DecodeError });
  });

  it('a consumer hands what it could not run before closeTimeoutMs back as a reported failure', async () => {
    const channel = new InMemoryChannel();
    const errors: unknown[] = [];
    const router = new CommandRouter();
    router.route(Big).to(() => new Promise((resolve) => setTimeout(resolve, 200)));
    const commandBus = new CommandBus();
    commandBus.use(router);
    const consumer = new InMemoryConsumer({
      channel,
      commandBus,
      concurrency: 1,
      closeTimeoutMs: 20,
      onError: (e) => errors.push(e),
    });
    await consumer.start();
    const producer = new InMemoryProducer({ channel });
    await producer.produce(Big.create({ blob: 'a' }));
    await producer.produce(Big.create({ blob: 'b' }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await consumer.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: ErrorCode.ProducerClosed });
  });
});

describe('TransportProducer with a blocked wire', () => {
  it('a query without a caller timeout still ends at replyTimeoutMs while its send is blocked', async () => {
    const blocked: ProducerWire<string> = {
      capabilities: { replies: 'channel', confirmsHandling: false, durable: false },
      open: async () => 'nowhere',
      send: () => new Promise(() => {}), // no room, no peer: the send never completes
      close: async () => {},
    };
    const producer = new TransportProducer('BlockedProducer', 'test', blocked, { replyTimeoutMs: 50 });
    const router = new QueryRouter();
    router.route(Ask).to(producer);
    const bus = new QueryBus();
    bus.use(router);
    const started = Date.now();
    await expect(bus.dispatch(Ask.create({}))).rejects.toMatchObject({ code: ErrorCode.Timeout });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(producer.pendingReplies).toBe(0);
  });
});

describe('ErrorReporter', () => {
  it('sends to onError with the context, and to the logger when the hook throws or is missing', () => {
    const logged: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (context: object) => logged.push(context) };
    const seen: unknown[] = [];
    const reporter = new ErrorReporter('Thing', 'test', {
      onError: (error, context) => seen.push({ error, context }),
      logger,
    });
    reporter.report(new Error('a'), 'receive', { messageId: 'm1' });
    expect(seen).toEqual([
      {
        error: new Error('a'),
        context: { component: 'Thing', transport: 'test', stage: 'receive', messageId: 'm1' },
      },
    ]);
    new ErrorReporter('Thing', 'test', {
      onError: () => {
        throw new Error('hook broke');
      },
      logger,
    }).report(new Error('b'), 'reply');
    new ErrorReporter('Thing', 'test', { logger }).report(new Error('c'), 'connection');
    expect(logged).toHaveLength(3); // the hook's own failure, the error it could not take, and the unhooked one
  });

  it('collapses identical connection errors in the log (a reconnect loop), but hands onError every one', () => {
    const logged: unknown[] = [];
    const logger = { debug() {}, info() {}, warn() {}, error: (context: object) => logged.push(context) };
    const reporter = new ErrorReporter('Thing', 'test', { logger });
    for (let attempt = 0; attempt < 5; attempt++) reporter.report(new Error('ECONNREFUSED'), 'connection');
    reporter.report(new Error('something else'), 'connection');
    reporter.report(new Error('a message failed'), 'receive');
    reporter.report(new Error('a message failed'), 'receive');
    // The first refusal, how often it repeated, the other connection error, both receive failures.
    expect(logged).toHaveLength(5);
    expect(logged[1]).toMatchObject({ repeats: 4 });
    const hooked: unknown[] = [];
    const withHook = new ErrorReporter('Thing', 'test', { onError: (error) => hooked.push(error), logger });
    for (let attempt = 0; attempt < 5; attempt++) withHook.report(new Error('ECONNREFUSED'), 'connection');
    expect(hooked).toHaveLength(5);
  });
});

describe('JsonCodec pollution guards', () => {
  it('refuses constructor.prototype keys as well as __proto__', () => {
    const codec = new JsonCodec();
    const envelope = (payload: string) =>
      `{"v":1,"id":"i","kind":"event","name":"n","payload":${payload},"metadata":{},"createdAt":"2026-01-01T00:00:00Z"}`;
    expect(() => codec.decode(envelope('{"constructor":{"prototype":{"polluted":true}}}'))).toThrowError(
      expect.objectContaining({ code: ErrorCode.DecodeError }),
    );
    expect(() => codec.decode(envelope('{"a":[{"constructor":{"prototype":1}}]}'))).toThrowError(
      expect.objectContaining({ code: ErrorCode.DecodeError }),
    );
    expect(codec.decode(envelope('{"constructor":"fine","prototype":"also fine"}')).payload).toEqual({
      constructor: 'fine',
      prototype: 'also fine',
    });
  });
});
