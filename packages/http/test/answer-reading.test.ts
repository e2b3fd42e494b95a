import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Fixtures, rejectionOf, sleep, waitFor } from '@switchyard/conformance';
import {
  type DispatchError,
  ErrorCode,
  isSwitchyardError,
  type QueryBus,
  TransportError,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpProducer, REPLY_HEADER } from '../src/index.ts';
import { queryBusVia } from './harness.ts';

// How the producer reads answers (buffered-request.ts): whole replies, cut error bodies, aborts
// before and after the answer started, and no retry once the consumer has seen the request.

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** A loopback node:http server answering with `answer`; counts the requests it received. */
async function serverAnswering(
  answer: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ url: string; requests: () => number; bodies: string[] }> {
  let requests = 0;
  const bodies: string[] = [];
  const server = createServer((request, response) => {
    requests++;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => bodies.push(Buffer.concat(chunks).toString()));
    answer(request, response);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`,
    requests: () => requests,
    bodies,
  };
}

/** Starts a 500-byte reply and writes only `start` of it. */
function startReply(response: ServerResponse, start: string): void {
  response.writeHead(200, { [REPLY_HEADER]: '1', 'content-type': 'application/json', 'content-length': 500 });
  response.write(start);
}

function queriesOver(options: ConstructorParameters<typeof HttpProducer>[0]): QueryBus {
  const producer = new HttpProducer(options);
  closers.push(() => producer.close());
  return queryBusVia(producer);
}

describe('http producer: reading the answer', () => {
  it('a reply cut off mid-body rejects with a transport error carrying the status, and is not sent again', async () => {
    const server = await serverAnswering((_request, response) => {
      startReply(response, '{"v":1,"inReplyTo":');
      setTimeout(() => response.socket?.destroy(), 20);
    });
    const queries = queriesOver({ url: server.url, retry: { retries: 2, delayMs: 10 } });
    const error = (await rejectionOf(queries.dispatch(Fixtures.Add.create({ a: 1, b: 2 })))) as DispatchError;
    expect(error.code).toBe(ErrorCode.TransportError);
    const cause = error.cause as TransportError;
    expect(cause).toBeInstanceOf(TransportError);
    expect(cause.status).toBe(200);
    expect(cause.message).toMatch(/Reading the answer to "[^"]+" from .* failed/);
    await sleep(100); // a retry would have arrived by now
    expect(server.requests()).toBe(1);
  });

  it('reads a large reply whole, across many chunks', async () => {
    const big = 'x'.repeat(3 * 1024 * 1024);
    const server = await serverAnswering((request, response) => {
      request.on('end', () => {
        const { id } = JSON.parse(server.bodies.at(-1)!) as { id: string };
        const body = JSON.stringify({ v: 1, inReplyTo: id, ok: true, result: { sum: big } });
        response.writeHead(200, { [REPLY_HEADER]: '1', 'content-type': 'application/json' });
        // Written in 64 KiB pieces (chunked encoding): the producer joins them.
        for (let at = 0; at < body.length; at += 65_536) response.write(body.slice(at, at + 65_536));
        response.end();
      });
    });
    const queries = queriesOver({ url: server.url });
    const reply = (await queries.dispatch(Fixtures.Add.create({ a: 1, b: 2 }))) as { sum: unknown };
    expect(reply.sum).toBe(big);
  });

  it('keeps the first 64 KiB of an endless error body, reports its status, and drops the connection', async () => {
    let written = 0;
    const server = await serverAnswering((_request, response) => {
      response.writeHead(500, { 'content-type': 'text/plain' });
      const chunk = Buffer.alloc(64 * 1024, 'e');
      // Bounded: 512 chunks (32 MiB) at most, stopped as soon as the producer hangs up.
      const pump = (): void => {
        while (written < 512 && !response.destroyed) {
          written++;
          if (!response.write(chunk)) return void response.once('drain', pump);
        }
        if (!response.destroyed) response.end();
      };
      pump();
    });
    const queries = queriesOver({ url: server.url, retry: false });
    const error = (await rejectionOf(queries.dispatch(Fixtures.Add.create({ a: 1, b: 2 })))) as DispatchError;
    expect(error.code).toBe(ErrorCode.TransportError);
    const cause = error.cause as TransportError;
    expect(cause.status).toBe(500);
    expect(cause.message).toContain('answered HTTP 500');
    await sleep(50);
    expect(written).toBeLessThan(512);
  });

  it('an abort while the query waits for a free connection rejects ABORTED and never sends it', async () => {
    const held: ServerResponse[] = [];
    const server = await serverAnswering((_request, response) => {
      held.push(response); // never answered: the one connection stays busy
    });
    closers.push(async () => {
      for (const response of held) response.destroy();
    });
    const queries = queriesOver({ url: server.url, connections: 1, retry: false });
    const first = rejectionOf(queries.dispatch(Fixtures.Add.create({ a: 1, b: 1 }), { timeoutMs: 2_000 }));
    await waitFor(() => server.requests() === 1, 2_000, 'the first query reached the server');
    const controller = new AbortController();
    const second = queries.dispatch(Fixtures.Add.create({ a: 2, b: 2 }), { signal: controller.signal });
    await sleep(20);
    controller.abort(new Error('caller gave up'));
    expect(isSwitchyardError(await rejectionOf(second), ErrorCode.Aborted)).toBe(true);
    held[0]?.destroy(); // frees the connection: a second request still queued would go out now
    expect(isSwitchyardError(await first, ErrorCode.TransportError)).toBe(true);
    await sleep(100);
    expect(server.requests()).toBe(1);
    expect(server.bodies.map((body) => (JSON.parse(body) as { payload: { a: number } }).payload.a)).toEqual([
      1,
    ]);
  });

  it('an abort while the reply streams in rejects ABORTED, not a transport error', async () => {
    const server = await serverAnswering((_request, response) => {
      startReply(response, '{"v":1,'); // and nothing more
    });
    const queries = queriesOver({ url: server.url });
    const controller = new AbortController();
    const query = queries.dispatch(Fixtures.Add.create({ a: 1, b: 2 }), { signal: controller.signal });
    await waitFor(() => server.requests() === 1, 2_000, 'the query reached the server');
    await sleep(20);
    controller.abort();
    expect(isSwitchyardError(await rejectionOf(query), ErrorCode.Aborted)).toBe(true);
  });
});
