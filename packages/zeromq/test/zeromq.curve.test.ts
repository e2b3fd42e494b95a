import { ErrorCode, isSwitchyardError } from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { generateCurveKeyPair, ZeroMQConsumer, ZeroMQProducer } from '../src/index.ts';
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
  curve?: ConstructorParameters<typeof ZeroMQProducer>[0]['curve'],
) {
  const producer = new ZeroMQProducer({
    commandEndpoint: bound.commands,
    queryEndpoint: bound.queries,
    ...(curve === undefined ? {} : { curve }),
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
    const { commandBus, queryBus } = producerFor(bound, { serverPublicKey: server.publicKey, ...unlisted });
    await commandBus.dispatch(Ping.create({ n: 1 })); // queued on the socket, never delivered
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
