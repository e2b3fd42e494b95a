import { ErrorCode, isSwitchyardError } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { Context, Pull, Push } from 'zeromq';
import {
  generateCurveKeyPair,
  ZapHandler,
  ZeroMQConsumer,
  ZeroMQProducer,
  type ZeroMQProducerOptions,
} from '../src/index.ts';
import { Ping, receivingSide, rejectionOf, Slow, sendingSide, sleep, waitFor } from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const server = generateCurveKeyPair();
const allowed = generateCurveKeyPair();
const unlisted = generateCurveKeyPair();

async function secureConsumer() {
  const receiving = receivingSide();
  const errors: unknown[] = [];
  const consumer = new ZeroMQConsumer({
    commandEndpoint: 'tcp://127.0.0.1:0',
    queryEndpoint: 'tcp://127.0.0.1:0',
    curve: { secretKey: server.secretKey, allowedClientKeys: [allowed.publicKey] },
    onError: (error) => errors.push(error),
    ...receiving,
  });
  const bound = await consumer.start();
  cleanups.push(() => consumer.close());
  return { receiving, errors, bound };
}

function producerFor(
  bound: { commands: readonly string[]; queries: readonly string[] },
  curve?: ZeroMQProducerOptions['curve'],
  options: Partial<ZeroMQProducerOptions> = {},
) {
  const producer = new ZeroMQProducer({
    commandEndpoint: bound.commands,
    queryEndpoint: bound.queries,
    ...(curve === undefined ? {} : { curve }),
    ...options,
  });
  cleanups.push(() => producer.close());
  return { producer, ...sendingSide(producer) };
}

describe('zeromq CURVE with a client allow-list', () => {
  it('carries commands and queries for a listed client', async () => {
    const { receiving, bound } = await secureConsumer();
    const { commandBus, queryBus } = producerFor(bound, { serverPublicKey: server.publicKey, ...allowed });
    await expect(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'secret' }))).resolves.toEqual({
      tag: 'secret',
    });
    await commandBus.dispatch(Ping.create({ n: 7 }));
    await waitFor(() => receiving.pings.length === 1);
    expect(receiving.pings[0]!.payload).toEqual({ n: 7 });
  });

  it('refuses a client whose key is not on the allow-list', async () => {
    const { receiving, errors, bound } = await secureConsumer();
    const { commandBus, queryBus } = producerFor(
      bound,
      { serverPublicKey: server.publicKey, ...unlisted },
      { sendTimeoutMs: 1_000 },
    );
    // The handshake never completes, so there is no consumer to queue for: the send times out.
    const refused = await rejectionOf(commandBus.dispatch(Ping.create({ n: 1 })));
    expect(isSwitchyardError(refused, ErrorCode.TransportError)).toBe(true);
    const error = await rejectionOf(
      queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'x' }), { timeoutMs: 500 }),
    );
    expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
    await sleep(100);
    expect(receiving.pings).toEqual([]);
    expect(receiving.queries).toEqual([]);
    expect(
      errors.some((e) => isSwitchyardError(e, ErrorCode.TransportError) && /allow-list/.test(String(e))),
    ).toBe(true);
  });

  it('refuses a client that has the wrong server key, and a client without CURVE', async () => {
    const { receiving, bound } = await secureConsumer();
    const impostorServer = generateCurveKeyPair();
    const wrongKey = producerFor(bound, { serverPublicKey: impostorServer.publicKey, ...allowed });
    const plain = producerFor(bound);
    const outcomes = await Promise.all([
      rejectionOf(wrongKey.queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'w' }), { timeoutMs: 500 })),
      rejectionOf(plain.queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'p' }), { timeoutMs: 500 })),
    ]);
    for (const error of outcomes) expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
    expect(receiving.queries).toEqual([]);
  });

  it('reports refused clients to onError with stage auth', async () => {
    const receiving = receivingSide();
    const reported: { error: unknown; stage: string; clientKey: unknown }[] = [];
    const consumer = new ZeroMQConsumer({
      queryEndpoint: 'tcp://127.0.0.1:0',
      curve: { secretKey: server.secretKey, allowedClientKeys: [allowed.publicKey] },
      onError: (error, context) =>
        reported.push({ error, stage: context.stage, clientKey: context.clientKey }),
      ...receiving,
    });
    const bound = await consumer.start();
    cleanups.push(() => consumer.close());
    const { queryBus } = producerFor(
      { commands: [], queries: bound.queries },
      {
        serverPublicKey: server.publicKey,
        ...unlisted,
      },
    );
    await rejectionOf(queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'x' }), { timeoutMs: 300 }));
    await waitFor(() => reported.length > 0);
    expect(reported[0]!.stage).toBe('auth');
    expect(reported[0]!.clientKey).toBe(unlisted.publicKey);
    expect(isSwitchyardError(reported[0]!.error, ErrorCode.TransportError)).toBe(true);
  });

  it('a ZAP handler whose decision hook throws reports it and keeps authenticating', async () => {
    const context = new Context();
    const failures: unknown[] = [];
    const zap = new ZapHandler({
      context,
      allowedClientKeys: [allowed.publicKey],
      onDecision() {
        throw new Error('hook failed');
      },
      onError: (error) => failures.push(error),
    });
    await zap.start();
    cleanups.push(() => zap.close());
    const pull = new Pull({
      context,
      linger: 0,
      curveServer: true,
      curveSecretKey: server.secretKey,
      zapDomain: 'test',
      zapEnforceDomain: true,
    });
    cleanups.push(async () => pull.close());
    await pull.bind('tcp://127.0.0.1:0');
    for (let n = 0; n < 2; n++) {
      const push = new Push({
        linger: 0,
        curveServerKey: server.publicKey,
        curvePublicKey: allowed.publicKey,
        curveSecretKey: allowed.secretKey,
      });
      cleanups.push(async () => push.close());
      push.connect(pull.lastEndpoint!);
      await push.send(`hello ${n}`);
      pull.receiveTimeout = 5_000;
      const [frame] = await pull.receive();
      expect(frame!.toString()).toBe(`hello ${n}`);
    }
    expect(failures.map(String)).toEqual(['Error: hook failed', 'Error: hook failed']);
  });

  it('refuses malformed keys at construction', () => {
    expect(
      () =>
        new ZeroMQConsumer({
          queryEndpoint: 'tcp://127.0.0.1:0',
          curve: { secretKey: 'short', allowedClientKeys: [] },
        }),
    ).toThrow(/Z85/);
    expect(
      () =>
        new ZeroMQConsumer({
          queryEndpoint: 'tcp://127.0.0.1:0',
          curve: { secretKey: server.secretKey, allowedClientKeys: ['not a key'] },
        }),
    ).toThrow(/Z85/);
    expect(
      () =>
        new ZeroMQProducer({
          queryEndpoint: 'tcp://127.0.0.1:1',
          curve: {
            serverPublicKey: server.publicKey,
            publicKey: allowed.publicKey,
            secretKey: '~'.repeat(40),
          },
        }),
    ).toThrow(/Z85/);
  });

  it('two consumers in one process keep their own allow-lists', async () => {
    const a = await secureConsumer();
    const otherServer = generateCurveKeyPair();
    const receiving = receivingSide();
    const other = new ZeroMQConsumer({
      queryEndpoint: 'tcp://127.0.0.1:0',
      curve: { secretKey: otherServer.secretKey, allowedClientKeys: [unlisted.publicKey] },
      ...receiving,
    });
    const otherBound = await other.start();
    cleanups.push(() => other.close());
    const toA = producerFor(a.bound, { serverPublicKey: server.publicKey, ...allowed });
    const toOther = producerFor(otherBound, { serverPublicKey: otherServer.publicKey, ...unlisted });
    await expect(toA.queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'a' }))).resolves.toEqual({ tag: 'a' });
    await expect(toOther.queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'o' }))).resolves.toEqual({
      tag: 'o',
    });
  });

  it("with allowedClientKeys 'any', admits any CURVE client but still refuses a plain one", async () => {
    const receiving = receivingSide();
    const consumer = new ZeroMQConsumer({
      queryEndpoint: 'tcp://127.0.0.1:0',
      curve: { secretKey: server.secretKey, allowedClientKeys: 'any' },
      ...receiving,
    });
    const bound = await consumer.start();
    cleanups.push(() => consumer.close());
    const stranger = producerFor(
      { commands: [], queries: bound.queries },
      {
        serverPublicKey: server.publicKey,
        ...unlisted,
      },
    );
    await expect(stranger.queryBus.dispatch(Slow.create({ delayMs: 0, tag: 's' }))).resolves.toEqual({
      tag: 's',
    });
    const plain = producerFor({ commands: [], queries: bound.queries });
    const error = await rejectionOf(
      plain.queryBus.dispatch(Slow.create({ delayMs: 0, tag: 'p' }), { timeoutMs: 300 }),
    );
    expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
    expect(receiving.queries).toEqual(['s']);
  });
});
