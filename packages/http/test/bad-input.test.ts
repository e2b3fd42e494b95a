import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import { connect } from 'node:net';
import { Fixtures, rejectionOf, waitFor } from '@switchyard/conformance';
import {
  CommandBus,
  CommandRouter,
  ErrorCode,
  isSwitchyardError,
  type TransportError,
} from '@switchyard/core';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  bearerAuth,
  bearerHeaders,
  HttpConsumer,
  HttpProducer,
  hmacAuth,
  hmacHeaders,
} from '../src/index.ts';
import { buildBuses, commandEnvelope, post, rawAgent, startConsumer } from './harness.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});
afterAll(() => rawAgent.close());

async function consumerFor(options: Parameters<typeof startConsumer>[0] = {}) {
  const started = await startConsumer(options);
  closers.push(() => started.consumer.close());
  return started;
}

/** After any bad request the same consumer must still handle a good one. */
/** An existing `node:http` server on a loopback port, closed after the test; returns the port. */
async function serve(listener: RequestListener): Promise<number> {
  const server = createServer(listener);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(
    () => new Promise<void>((resolve) => server.close(() => resolve())),
    async () => {
      server.closeAllConnections();
    },
  );
  return (server.address() as { port: number }).port;
}

async function expectStillServing(url: string): Promise<void> {
  const { status } = await post(url, JSON.stringify(commandEnvelope()));
  expect(status).toBe(202);
}

describe('http consumer: bad input', () => {
  it('answers 400 for truncated JSON', async () => {
    const { url } = await consumerFor();
    const full = JSON.stringify(commandEnvelope());
    const { status, json } = await post(url, full.slice(0, full.length - 7));
    expect(status).toBe(400);
    expect(json).toMatchObject({ error: { code: ErrorCode.DecodeError } });
    await expectStillServing(url);
  });

  it('answers 400 for wrong field types, unknown versions and non-objects', async () => {
    const { url, handled } = await consumerFor();
    for (const body of [
      commandEnvelope({ id: 42 }),
      commandEnvelope({ kind: 'order' }),
      commandEnvelope({ metadata: 'none' }),
      commandEnvelope({ v: 2 }),
      commandEnvelope({ createdAt: 'yesterday' }),
      [1, 2, 3],
      'just a string',
      null,
    ]) {
      const { status, json } = await post(url, JSON.stringify(body));
      expect(status).toBe(400);
      expect(json).toMatchObject({ error: { name: 'DecodeError', code: ErrorCode.DecodeError } });
    }
    const { status } = await post(url, Buffer.from([0x7b, 0xff, 0xfe, 0x7d]));
    expect(status).toBe(400);
    expect(handled).toHaveLength(0);
    await expectStillServing(url);
  });

  it('answers 413 for a 10 MiB body, declared or chunked, without buffering it', async () => {
    const { url } = await consumerFor();
    const big = Buffer.alloc(10 * 1024 * 1024, 0x61);
    const declared = await post(url, big);
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ error: { code: ErrorCode.PayloadTooLarge } });
    // Without a content-length the limit is enforced while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const target = new URL(url);
      const socket = connect(Number(target.port), target.hostname, () => {
        socket.write(
          `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
        );
        const chunk = Buffer.alloc(256 * 1024, 0x61);
        const frame = Buffer.concat([
          Buffer.from(`${chunk.length.toString(16)}\r\n`),
          chunk,
          Buffer.from('\r\n'),
        ]);
        for (let i = 0; i < 40; i++) socket.write(frame);
      });
      let answer = '';
      socket.on('data', (data) => {
        answer += data.toString('latin1');
        const match = /^HTTP\/1\.1 (\d{3})/.exec(answer);
        if (match) {
          resolve(Number(match[1]));
          socket.destroy();
        }
      });
      socket.on('error', () => {}); // the server may reset the connection once it answered
      socket.on('close', () => reject(new Error(`closed without an answer: ${answer.slice(0, 80)}`)));
      socket.setTimeout(10_000, () => socket.destroy());
    });
    expect(chunked).toBe(413);
    await expectStillServing(url);
  });

  it('refuses at the producer what the consumer would answer 413 (the same 1 MiB default)', async () => {
    const { url, handled } = await consumerFor();
    const producer = new HttpProducer({ url });
    closers.push(() => producer.close());
    const error = await rejectionOf(
      producer.produce(Fixtures.Command.create({ text: 'x'.repeat(1024 * 1024) })),
    );
    expect(isSwitchyardError(error, ErrorCode.PayloadTooLarge)).toBe(true);
    expect(handled).toHaveLength(0);
  });

  it('answers 413 for a body over a configured limit', async () => {
    const { url } = await consumerFor({ maxMessageBytes: 1024 });
    const body = JSON.stringify(commandEnvelope({ payload: { text: 'x'.repeat(2_000) } }));
    expect((await post(url, body)).status).toBe(413);
    await expectStillServing(url);
  });

  it('refuses "__proto__" payload keys with 400 and pollutes nothing', async () => {
    const { url, handled } = await consumerFor();
    const body = JSON.stringify(commandEnvelope()).replace(
      '"payload":{"text":"hello"}',
      '"payload":{"text":"hello","__proto__":{"polluted":true},"nested":{"constructor":{"prototype":{"polluted":true}}}}',
    );
    expect(body).toContain('__proto__');
    const { status, json } = await post(url, body);
    expect(status).toBe(400);
    expect(json).toMatchObject({ error: { code: ErrorCode.DecodeError } });
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(handled).toHaveLength(0);
    await expectStillServing(url);
  });

  it('answers 415 for a wrong or missing content type, and 405 for other methods', async () => {
    const { url } = await consumerFor();
    const body = JSON.stringify(commandEnvelope());
    expect((await post(url, body, { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(url, body, {})).status).toBe(415);
    expect((await post(url, body, { 'content-type': 'application/json; charset=utf-8' })).status).toBe(202);
    const get = await post(url, '', {}, 'GET');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    await expectStillServing(url);
  });

  it('answers 404 for an unknown message, 422 for an invalid payload, 500 for a failing handler', async () => {
    const { url } = await consumerFor();
    const unknown = await post(url, JSON.stringify(commandEnvelope({ name: 'nobody.Handles' })));
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ error: { code: ErrorCode.NoHandler } });

    const invalid = await post(
      url,
      JSON.stringify(
        commandEnvelope({ kind: 'query', name: Fixtures.Validated.name, payload: { count: 'x' } }),
      ),
    );
    expect(invalid.status).toBe(422);
    // A query carries its error reply, so the producer can build a RemoteError.
    expect(invalid.json).toMatchObject({ v: 1, ok: false, error: { code: ErrorCode.ValidationError } });

    const envelope = commandEnvelope({ payload: { text: 'fail' } });
    const failed = await post(url, JSON.stringify(envelope));
    expect(failed.status).toBe(500);
    // A decoded command carries an error reply too, marked as one, exactly like a query.
    expect(failed.headers['x-switchyard-reply']).toBe('1');
    expect(failed.json).toEqual({
      v: 1,
      inReplyTo: envelope.id,
      ok: false,
      error: { name: 'DomainError', message: 'command failed', code: 'E_DOMAIN' },
    });
    await expectStillServing(url);
  });

  it('includes the stack of a handler failure only with exposeErrorStack', async () => {
    const { url } = await consumerFor({ exposeErrorStack: true });
    const failed = await post(url, JSON.stringify(commandEnvelope({ payload: { text: 'fail' } })));
    expect(failed.status).toBe(500);
    expect((failed.json as { error: { stack?: string } }).error.stack).toContain('DomainError');
  });

  it('cuts off a slow-loris body with 408 and keeps serving', async () => {
    const { url } = await consumerFor({ bodyTimeoutMs: 300, requestTimeoutMs: 1_000 });
    const target = new URL(url);
    const started = Date.now();
    const outcome = await new Promise<string>((resolve) => {
      const socket = connect(Number(target.port), target.hostname, () => {
        socket.write(
          'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"v":1,',
        );
        // Trickle one byte now and then, never finishing the body.
        const trickle = setInterval(() => socket.write(' '), 50);
        socket.on('close', () => clearInterval(trickle));
      });
      let answer = '';
      socket.on('data', (data) => {
        answer += data.toString('latin1');
      });
      socket.on('error', () => {});
      socket.on('close', () => resolve(answer));
      socket.setTimeout(10_000, () => socket.destroy());
    });
    expect(outcome).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(9_000); // bounded by the server, not by our 10 s guard
    await expectStillServing(url);
  });

  it('cuts off a client that never finishes its headers', async () => {
    const { url } = await consumerFor({ headersTimeoutMs: 300, requestTimeoutMs: 500 });
    const target = new URL(url);
    const answer = await new Promise<string>((resolve) => {
      let received = '';
      const socket = connect(Number(target.port), target.hostname, () => {
        socket.write('POST / HTTP/1.1\r\nHost: x\r\n');
      });
      const guard = setTimeout(() => {
        resolve('no answer');
        socket.destroy();
      }, 10_000);
      socket.on('data', (data) => {
        received += data.toString('latin1');
      });
      socket.on('error', () => {});
      socket.on('close', () => {
        clearTimeout(guard);
        resolve(received);
      });
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    await expectStillServing(url);
  });
});

describe('http consumer: auth', () => {
  it('bearer: 401 without credentials, 403 with a forged token, 202 with the right one', async () => {
    const { url, handled } = await consumerFor({ auth: bearerAuth(['s3cret-token', 'next-token']) });
    const body = JSON.stringify(commandEnvelope());
    const missing = await post(url, body);
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer');
    expect(missing.json).toMatchObject({ error: { code: ErrorCode.Unauthorized } });
    const json = { 'content-type': 'application/json' };
    expect((await post(url, body, { ...json, authorization: 'Bearer s3cret-tokem' })).status).toBe(403);
    expect((await post(url, body, { ...json, authorization: 'Bearer short' })).status).toBe(403);
    expect((await post(url, body, { ...json, authorization: 'Basic abc' })).status).toBe(401);
    expect(handled).toHaveLength(0);
    expect((await post(url, body, { ...json, authorization: 'Bearer next-token' })).status).toBe(202);

    const good = new HttpProducer({ url, headers: bearerHeaders('s3cret-token') });
    const forged = new HttpProducer({ url, headers: bearerHeaders('guess') });
    closers.push(
      () => good.close(),
      () => forged.close(),
    );
    await good.produce(Fixtures.Command.create({ text: 'signed' }));
    const error = (await rejectionOf(
      forged.produce(Fixtures.Command.create({ text: 'x' })),
    )) as TransportError;
    expect(isSwitchyardError(error, ErrorCode.TransportError)).toBe(true);
    expect(error.status).toBe(403);
    expect(error.remote?.code).toBe(ErrorCode.Unauthorized);
    expect(handled.map((command) => command.payload)).toEqual([{ text: 'hello' }, { text: 'signed' }]);
  });

  it('hmac: signed bodies pass; a forged, re-used-for-another-body or stale signature is refused', async () => {
    const { url, handled } = await consumerFor({ auth: hmacAuth('shared-secret', { toleranceMs: 30_000 }) });
    const refused = await post(url, JSON.stringify(commandEnvelope()));
    expect(refused.headers['www-authenticate']).toBe('Switchyard-HMAC');
    const body = JSON.stringify(commandEnvelope());
    expect((await post(url, body)).status).toBe(401);

    const sign = hmacHeaders('shared-secret');
    const signed = sign({ message: Fixtures.Command.create({ text: 'x' }), body });
    const json = { 'content-type': 'application/json' };
    expect((await post(url, JSON.stringify(commandEnvelope()), { ...json, ...signed })).status).toBe(403);
    const forged = hmacHeaders('wrong-secret')({ message: Fixtures.Command.create({ text: 'x' }), body });
    expect((await post(url, body, { ...json, ...forged })).status).toBe(403);
    const stale = { ...signed, 'x-switchyard-timestamp': String(Date.now() - 120_000) };
    expect((await post(url, body, { ...json, ...stale })).status).toBe(403);
    expect(handled).toHaveLength(0);
    expect((await post(url, body, { ...json, ...signed })).status).toBe(202);

    const producer = new HttpProducer({ url, headers: hmacHeaders('shared-secret') });
    closers.push(() => producer.close());
    await producer.produce(Fixtures.Command.create({ text: 'via producer' }));
    expect(handled).toHaveLength(2);
  });

  it('hmac: a captured signed command replayed inside the tolerance runs once', async () => {
    const { url, handled } = await consumerFor({ auth: hmacAuth('shared-secret') });
    const body = JSON.stringify(commandEnvelope());
    const signed = hmacHeaders('shared-secret')({ message: Fixtures.Command.create({ text: 'x' }), body });
    const headers = { 'content-type': 'application/json', ...signed };
    expect((await post(url, body, headers)).status).toBe(202);
    expect((await post(url, body, headers)).status).toBe(202); // the replay is answered from the window
    expect(handled).toHaveLength(1);
  });

  it('refuses to start with a de-duplication window shorter than the auth replay window', () => {
    const buses = buildBuses();
    expect(() => new HttpConsumer({ ...buses, auth: hmacAuth('s', { toleranceMs: 300_000 }) })).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidConfiguration }),
    );
    expect(() => new HttpConsumer({ ...buses, auth: hmacAuth('s'), dedupeWindowMs: 0 })).toThrowError(
      expect.objectContaining({ code: ErrorCode.InvalidConfiguration }),
    );
    expect(
      () =>
        new HttpConsumer({
          ...buses,
          auth: hmacAuth('s', { toleranceMs: 300_000 }),
          dedupeWindowMs: 600_000,
        }),
    ).not.toThrow();
  });

  it('401 carries the challenge of the hook that refused, and none for a hook without one', async () => {
    const { url } = await consumerFor({ auth: () => 'unauthenticated' });
    const missing = await post(url, JSON.stringify(commandEnvelope()));
    expect(missing.status).toBe(401);
    expect(missing.headers['www-authenticate']).toBeUndefined();
  });

  it('answers 500 (and reports) when the auth hook itself throws', async () => {
    const errors: unknown[] = [];
    const { url } = await consumerFor({
      auth: () => {
        throw new Error('auth backend down');
      },
      onError: (error) => errors.push(error),
    });
    const { status, json } = await post(url, JSON.stringify(commandEnvelope()));
    expect(status).toBe(500);
    expect(json).toMatchObject({ error: { message: 'auth backend down' } });
    expect(errors).toHaveLength(1);
  });
});

describe('http consumer: de-duplication and shutdown', () => {
  it('handles a re-sent message id once and answers every copy alike', async () => {
    const { url, handled } = await consumerFor();
    const body = JSON.stringify(commandEnvelope({ payload: { text: 'slow once' } }));
    const answers = await Promise.all([post(url, body), post(url, body)]);
    expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
    expect((await post(url, body)).status).toBe(202);
    expect(handled).toHaveLength(1);

    const failing = JSON.stringify(commandEnvelope({ payload: { text: 'fail' } }));
    expect((await post(url, failing)).status).toBe(500);
    expect((await post(url, failing)).status).toBe(500);
  });

  it('mounted in an existing server: finishes in-flight requests on close(), answers 503 after', async () => {
    const buses = buildBuses();
    const consumer = new HttpConsumer(buses);
    const port = await serve((request, response) => {
      if (request.url === '/bus') consumer.handler(request, response);
      else response.writeHead(404).end();
    });
    const url = `http://127.0.0.1:${port}/bus`;
    const slow = post(url, JSON.stringify(commandEnvelope({ payload: { text: 'slow in flight' } })));
    await waitFor(() => consumer.inFlight === 1, 5_000, 'the slow request');
    const closing = consumer.close();
    const refused = await post(url, JSON.stringify(commandEnvelope()));
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect((await slow).status).toBe(202);
    await closing;
    expect(buses.handled.map((command) => command.payload)).toEqual([{ text: 'slow in flight' }]);
  });

  it('mounted behind middleware: uses a body read as a Buffer, explains a body already parsed', async () => {
    const buses = buildBuses();
    const consumer = new HttpConsumer(buses);
    // What express.raw() and express.json() leave behind: a Buffer, or a parsed object and a drained stream.
    const port = await serve((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        (request as { body?: unknown }).body = request.url === '/raw' ? raw : JSON.parse(raw.toString());
        consumer.handler(request, response);
      });
    });
    closers.push(() => consumer.close());
    const raw = await post(`http://127.0.0.1:${port}/raw`, JSON.stringify(commandEnvelope()));
    expect(raw.status).toBe(202);
    const parsed = await post(`http://127.0.0.1:${port}/parsed`, JSON.stringify(commandEnvelope()));
    expect(parsed.status).toBe(500);
    expect(parsed.json).toMatchObject({ error: { name: 'BodyAlreadyConsumed' } });
    expect(buses.handled).toHaveLength(1);
  });

  it('built-in server: while close() drains, new requests are answered 503 + Retry-After, not dropped', async () => {
    const { consumer, url } = await startConsumer();
    const producer = new HttpProducer({ url, retry: false });
    closers.push(() => producer.close());
    const slow = producer.produce(Fixtures.Command.create({ text: 'slow during close' }));
    await waitFor(() => consumer.inFlight === 1, 5_000, 'the slow request');
    const closing = consumer.close();
    const during = await post(url, JSON.stringify(commandEnvelope()));
    expect(during.status).toBe(503);
    expect(during.headers['retry-after']).toBe('1');
    expect(during.headers.connection).toBe('close');
    await closing;
    await expect(slow).resolves.toBeUndefined();
  });

  it('forgets a transient failure, so the retried message runs again', async () => {
    const buses = buildBuses();
    let calls = 0;
    const commands = new CommandRouter();
    commands.route(Fixtures.Command).to(() => {
      calls++;
      if (calls === 1) throw new Error('database briefly down');
    });
    const commandBus = new CommandBus();
    commandBus.use(commands);
    const consumer = new HttpConsumer({ ...buses, commandBus, onError: () => undefined });
    const { url } = await consumer.start();
    closers.push(() => consumer.close());
    const body = JSON.stringify(commandEnvelope());
    expect((await post(url, body)).status).toBe(500);
    expect((await post(url, body)).status).toBe(202);
    expect((await post(url, body)).status).toBe(202); // remembered now: not run a third time
    expect(calls).toBe(2);
  });

  it('listen(): close() waits for in-flight requests, then stops the server', async () => {
    const { consumer, url, handled } = await startConsumer();
    const producer = new HttpProducer({ url, retry: false });
    closers.push(() => producer.close());
    const slow = producer.produce(Fixtures.Command.create({ text: 'slow during close' }));
    await waitFor(() => consumer.inFlight === 1, 5_000, 'the slow request');
    await consumer.close();
    await expect(slow).resolves.toBeUndefined();
    expect(handled).toHaveLength(1);
    const after = await rejectionOf(producer.produce(Fixtures.Command.create({ text: 'after' })));
    expect(isSwitchyardError(after, ErrorCode.TransportError)).toBe(true);
  });
});
