import { createServer, type Socket } from 'node:net';
import { ConfigurationError, ErrorCode, isSwitchyardError } from '@switchyard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { BullMQConsumer, BullMQProducer, DeadLetters } from '../src/index.ts';
import { deleteKeys, REDIS_URL, sleep, uniquePrefix } from './redis-test-kit.ts';

const prefix = uniquePrefix('lifecycle');
afterAll(() => deleteKeys(prefix));

/** A TCP server that accepts connections and never answers: counts who connects. */
async function silentServer(): Promise<{
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    port: address.port,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('BullMQ lifecycle', () => {
  it('connects nothing in the constructor; start() bounded by its timeout rejects with TRANSPORT_ERROR', {
    timeout: 20_000,
  }, async () => {
    const server = await silentServer();
    const connection = { host: '127.0.0.1', port: server.port };
    const reported: unknown[] = [];
    const producer = new BullMQProducer({
      queueName: 'unreachable',
      connection,
      sendTimeoutMs: 300,
      onError: (error) => reported.push(error),
    });
    const consumer = new BullMQConsumer({
      queueName: 'unreachable',
      connection,
      startTimeoutMs: 300,
      onError: (error) => reported.push(error),
    });
    const deadLetters = new DeadLetters({
      queueName: 'unreachable',
      connection,
      onError: (error) => reported.push(error),
    });
    try {
      await sleep(200);
      expect(server.connections()).toBe(0);
      await deadLetters.close(); // never used: never connected
      expect(producer.state).toBe('new');
      expect(consumer.state).toBe('new');
      expect(() => producer.queue).toThrow(ConfigurationError);
      expect(() => consumer.worker).toThrow(ConfigurationError);

      const started = Date.now();
      const [producerStart, consumerStart] = await Promise.all([
        producer.start().catch((error: unknown) => error),
        consumer.start().catch((error: unknown) => error),
      ]);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(isSwitchyardError(producerStart, ErrorCode.TransportError)).toBe(true);
      expect(isSwitchyardError(consumerStart, ErrorCode.TransportError)).toBe(true);
      expect(server.connections()).toBeGreaterThan(0);
      expect(consumer.state).toBe('new'); // a failed start may be tried again
    } finally {
      const closing = Date.now();
      await producer.close();
      await consumer.close();
      expect(Date.now() - closing).toBeLessThan(3_000);
      await server.close();
    }
  });

  it('starts against Redis with the address it serves, once', async () => {
    const producer = new BullMQProducer({ queueName: 'addressed', prefix, connection: REDIS_URL });
    const consumer = new BullMQConsumer({ queueName: 'addressed', prefix, connection: REDIS_URL });
    try {
      const address = await consumer.start();
      expect(address).toEqual({ queueName: 'addressed', prefix });
      expect(await consumer.start()).toBe(address);
      expect(await producer.start()).toEqual(address);
      expect(consumer.worker.isRunning()).toBe(true);
      expect(producer.queue.name).toBe('addressed');
    } finally {
      await producer.close();
      await consumer.close();
    }
  });

  it('throws ConfigurationError for misuse', () => {
    const misuses: (() => unknown)[] = [
      () => new BullMQProducer({ connection: REDIS_URL }),
      () => new BullMQProducer({ queueName: 'a:b' }),
      () => new BullMQProducer({ queueName: 'q', priority: 3_000_000 }),
      () => new BullMQProducer({ queueName: 'q', attempts: 0 }),
      () => new BullMQProducer({ queueName: 'q', maxBatchSize: 0 }),
      () => new BullMQProducer({ queueName: 'q', sendTimeoutMs: -1 }),
      () => new BullMQProducer({ queueName: 'q', replyTimeoutMs: 0 }),
      () => new BullMQProducer({ queueName: 'q', closeTimeoutMs: Number.NaN }),
      () => new BullMQConsumer({ queueName: '' }),
      () => new BullMQConsumer({ queueName: 'q', concurrency: 0 }),
      () => new BullMQConsumer({ queueName: 'q', startTimeoutMs: 0 }),
      () => new BullMQConsumer({ queueName: 'q', lockDuration: -5 }),
      () => new BullMQConsumer({ queueName: 'q', maxStalledCount: 1.5 }),
      () => new DeadLetters({}),
    ];
    for (const misuse of misuses) {
      expect(misuse).toThrow(ConfigurationError);
    }
  });
});
