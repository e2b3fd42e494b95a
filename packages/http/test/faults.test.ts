import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { Fixtures, fixtureDefinitions, freePort, rejectionOf, sleep, waitFor } from '@switchyard/conformance';
import {
  CommandBus,
  CommandRouter,
  type DispatchError,
  ErrorCode,
  isSwitchyardError,
  QueryBus,
  QueryRouter,
  type TimeoutError,
  type TransportError,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpConsumer, HttpProducer } from '../src/index.ts';
import { buildBuses, queryBusVia, startConsumer } from './harness.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function producerFor(options: ConstructorParameters<typeof HttpProducer>[0]): HttpProducer {
  const producer = new HttpProducer(options);
  closers.push(() => producer.close());
  return producer;
}

/** A TCP server that accepts connections and never answers. */
async function blackHole(): Promise<{ url: string; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server };
}

describe('http producer: faults', () => {
  it('consumer down: a command and a query reject with a transport error after the retries', async () => {
    const url = `http://127.0.0.1:${await freePort()}/`;
    const producer = producerFor({ url, retry: { retries: 2, delayMs: 20 }, connectTimeoutMs: 500 });
    const started = Date.now();
    const error = (await rejectionOf(
      producer.produce(Fixtures.Command.create({ text: 'x' })),
    )) as TransportError;
    expect(isSwitchyardError(error, ErrorCode.TransportError)).toBe(true);
    expect(error.status).toBeUndefined();
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
    expect(Date.now() - started).toBeLessThan(5_000);

    const queryError = await rejectionOf(queryBusVia(producer).dispatch(Fixtures.Add.create({ a: 1, b: 2 })));
    expect(isSwitchyardError(queryError, ErrorCode.TransportError)).toBe(true);
    expect(producer.pendingReplies).toBe(0);
  });

  it('consumer hangs: rejects at the configured headers timeout, and a query at its reply timeout', async () => {
    const { url } = await blackHole();
    const producer = producerFor({ url, headersTimeoutMs: 300, replyTimeoutMs: 400, retry: false });
    const started = Date.now();
    const error = await rejectionOf(producer.produce(Fixtures.Command.create({ text: 'x' })));
    // A timeout is a timeout on every transport, command or query.
    expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
    expect((error as TimeoutError).timeoutMs).toBe(300);
    expect(Date.now() - started).toBeLessThan(5_000);

    const slowProducer = producerFor({ url, headersTimeoutMs: 10_000, replyTimeoutMs: 300, retry: false });
    const queryError = await rejectionOf(
      queryBusVia(slowProducer).dispatch(Fixtures.Add.create({ a: 1, b: 2 })),
    );
    expect(isSwitchyardError(queryError, ErrorCode.Timeout)).toBe(true);
    expect(slowProducer.pendingReplies).toBe(0);
  });

  it('consumer hangs: every timeout runs from the dispatch, also for requests queued behind busy connections', async () => {
    const { url } = await blackHole();
    const producer = producerFor({ url, connections: 2, retry: false });
    const queries = queryBusVia(producer);
    const started = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        rejectionOf(queries.dispatch(Fixtures.Add.create({ a: index, b: 0 }), { timeoutMs: 300 })).then(
          (error) => ({
            error,
            elapsed: Date.now() - started,
          }),
        ),
      ),
    );
    for (const { error, elapsed } of outcomes) {
      expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
      expect(elapsed).toBeLessThan(2_000);
    }
    // The cancelled requests leave undici's queue and the two hung connections right after.
    await waitFor(() => producer.inFlight === 0, 2_000, 'every request cancelled');
  });

  it('consumer restarted on the same port: the same producer recovers', async () => {
    const first = await startConsumer();
    const producer = producerFor({ url: first.url, retry: false });
    const queries = queryBusVia(producer);
    await producer.produce(Fixtures.Command.create({ text: 'before' }));
    await expect(queries.dispatch(Fixtures.Add.create({ a: 1, b: 1 }))).resolves.toEqual({ sum: 2 });
    await first.consumer.close();

    const down = await rejectionOf(producer.produce(Fixtures.Command.create({ text: 'while down' })));
    expect(isSwitchyardError(down, ErrorCode.TransportError)).toBe(true);

    const buses = buildBuses();
    const second = new HttpConsumer({ ...buses, port: first.port });
    await second.start();
    closers.push(() => second.close());
    await producer.produce(Fixtures.Command.create({ text: 'after' }));
    await expect(queries.dispatch(Fixtures.Add.create({ a: 2, b: 2 }))).resolves.toEqual({ sum: 4 });
    expect(buses.handled.map((command) => command.payload)).toEqual([{ text: 'after' }]);
  });

  it('retries a refused connection until the consumer comes up', async () => {
    const port = await freePort();
    const producer = producerFor({ url: `http://127.0.0.1:${port}/`, retry: { retries: 8, delayMs: 50 } });
    const buses = buildBuses();
    const consumer = new HttpConsumer({ ...buses, port });
    closers.push(() => consumer.close());
    const sending = producer.produce(Fixtures.Command.create({ text: 'eventually' }));
    await sleep(80);
    await consumer.start();
    await sending;
    expect(buses.handled).toHaveLength(1);
  });

  it('an aborted or timed-out query ends its HTTP request at once', async () => {
    // Either side may end it first: the producer cancels the request, or the consumer answers 504
    // at the same deadline. Either way the request is over long before the 500 ms handler.
    let ended = 0;
    const buses = buildBuses();
    const consumer = new HttpConsumer(buses);
    const server = createHttpServer((request, response) => {
      const started = Date.now();
      response.on('close', () => {
        if (Date.now() - started < 400) ended++;
      });
      consumer.handler(request, response);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await consumer.close();
    });
    const producer = producerFor({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` });
    const queries = queryBusVia(producer);
    const controller = new AbortController();
    const aborted = queries.dispatch(Fixtures.Slow.create({ delayMs: 500, tag: 'a' }), {
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 50);
    expect(isSwitchyardError(await rejectionOf(aborted), ErrorCode.Aborted)).toBe(true);
    const timedOut = queries.dispatch(Fixtures.Slow.create({ delayMs: 500, tag: 'b' }), { timeoutMs: 50 });
    expect(isSwitchyardError(await rejectionOf(timedOut), ErrorCode.Timeout)).toBe(true);
    await waitFor(() => ended === 2, 5_000, 'both requests ended');
    expect(producer.pendingReplies).toBe(0);
  });

  it('a handler that reads its signal only after the caller left finds it aborted; one that reads it in time sees it fire', async () => {
    const seen: Record<string, boolean> = {};
    const queries = new QueryRouter();
    queries.route(Fixtures.Slow).to(async (query, context) => {
      const { tag, delayMs } = query.payload;
      if (tag === 'early') {
        // Reads its signal at once, then waits for it (or the delay).
        const { signal } = context;
        await new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => resolve(), { once: true });
          setTimeout(resolve, delayMs);
        });
        seen[tag] = signal.aborted;
      } else {
        await sleep(delayMs); // the caller leaves meanwhile
        seen[tag] = context.signal.aborted;
      }
      return { tag };
    });
    const queryBus = new QueryBus();
    queryBus.use(queries);
    const consumer = new HttpConsumer({ queryBus, definitions: fixtureDefinitions });
    closers.push(() => consumer.close());
    const { url } = await consumer.start();
    const producer = producerFor({ url });
    const bus = queryBusVia(producer);
    for (const tag of ['early', 'late']) {
      const controller = new AbortController();
      const query = bus.dispatch(Fixtures.Slow.create({ delayMs: 300, tag }), { signal: controller.signal });
      setTimeout(() => controller.abort(), 30);
      expect(isSwitchyardError(await rejectionOf(query), ErrorCode.Aborted)).toBe(true);
    }
    await waitFor(() => 'early' in seen && 'late' in seen, 3_000, 'both handlers finished');
    expect(seen).toEqual({ early: true, late: true });
    // Answered in time, nothing fires.
    await bus.dispatch(Fixtures.Slow.create({ delayMs: 10, tag: 'answered' }));
    expect(seen.answered).toBe(false);
  });

  it('consumes every error body: many failing commands over two connections do not stall the pool', async () => {
    const { url } = await startConsumer().then((started) => {
      closers.push(() => started.consumer.close());
      return started;
    });
    const producer = producerFor({ url, connections: 2 });
    const commands = new CommandRouter();
    commands.route(Fixtures.Command).to(producer);
    const bus = new CommandBus();
    bus.use(commands);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 200 }, (_, index) =>
        bus.dispatch(Fixtures.Command.create({ text: index % 2 === 0 ? 'fail' : 'ok' })),
      ),
    );
    const failed = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(failed).toHaveLength(100);
    const error = (failed[0] as PromiseRejectedResult).reason as DispatchError;
    expect(error.code).toBe(ErrorCode.RemoteError);
    expect(error.remoteName).toBe('DomainError');
    expect(error.remoteCode).toBe('E_DOMAIN');
    expect(error.message).toContain('command failed');
  });

  it('close(): refuses new messages, and cancels what outlives closeTimeoutMs', async () => {
    const { url } = await blackHole();
    const producer = producerFor({
      url,
      closeTimeoutMs: 100,
      headersTimeoutMs: 30_000,
      replyTimeoutMs: 30_000,
    });
    const command = rejectionOf(producer.produce(Fixtures.Command.create({ text: 'stuck' })));
    const query = rejectionOf(queryBusVia(producer).dispatch(Fixtures.Add.create({ a: 1, b: 1 })));
    await sleep(50);
    await producer.close();
    expect(isSwitchyardError(await query, ErrorCode.ProducerClosed)).toBe(true);
    expect(isSwitchyardError(await command)).toBe(true);
    const after = await rejectionOf(producer.produce(Fixtures.Command.create({ text: 'late' })));
    expect(isSwitchyardError(after, ErrorCode.ProducerClosed)).toBe(true);
  });
});
