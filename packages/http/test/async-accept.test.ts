import { once } from 'node:events';
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DomainError,
  Fixtures,
  fixtureDefinitions,
  rejectionOf,
  sleep,
  waitFor,
} from '@switchyard/conformance';
import {
  CommandBus,
  CommandRouter,
  type DispatchError,
  ErrorCode,
  EventBus,
  isSwitchyardError,
  QueryBus,
  QueryRouter,
  type TransportError,
} from '@switchyard/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  bearerAuth,
  bearerHeaders,
  CALLBACK_HEADER,
  CALLBACK_SIGNATURE_HEADER,
  CallbackSignatureError,
  HttpConsumer,
  type HttpConsumerOptions,
  HttpProducer,
  type HttpProducerOptions,
  hmacAuth,
  hmacHeaders,
  httpTransport,
  signCallback,
  verifyCallbackSignature,
} from '../src/index.ts';
import { post } from './harness.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

/** Receiving buses: a slow command and the conformance queries; `signals` records aborted handlers. */
function receivingBuses() {
  const finished: string[] = [];
  const signals: string[] = [];
  const commands = new CommandRouter();
  commands.route(Fixtures.SlowCommand).to(async (command, context) => {
    await sleep(command.payload.delayMs);
    if (context.signal.aborted) signals.push(command.payload.tag);
    finished.push(command.payload.tag);
  });
  commands.route(Fixtures.FailCommand).to((command) => {
    throw new DomainError(command.payload.reason);
  });
  const queries = new QueryRouter();
  queries.route(Fixtures.Add).to((query) => ({ sum: query.payload.a + query.payload.b }));
  queries.route(Fixtures.Slow).to(async (query) => {
    await sleep(query.payload.delayMs);
    return { tag: query.payload.tag };
  });
  queries.route(Fixtures.Fail).to((query) => {
    throw new DomainError(query.payload.reason);
  });
  queries.route(Fixtures.Watch).to(async (query, context) => {
    const fired = await Promise.race([
      new Promise<boolean>((resolve) => context.signal.addEventListener('abort', () => resolve(true))),
      sleep(query.payload.maxMs).then(() => false),
    ]);
    if (fired) signals.push(query.payload.tag);
    return { fired };
  });
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, queryBus, definitions: fixtureDefinitions, finished, signals };
}

async function startConsumer(options: Partial<HttpConsumerOptions> = {}) {
  const buses = receivingBuses();
  const errors: { error: unknown; stage: string }[] = [];
  const consumer = new HttpConsumer({
    ...buses,
    onError: (error, context) => errors.push({ error, stage: context.stage }),
    ...options,
  });
  const { url } = await consumer.start();
  closers.push(() => consumer.close());
  return { consumer, url, errors, ...buses };
}

function sendingBuses(options: HttpProducerOptions) {
  const producer = new HttpProducer(options);
  closers.push(() => producer.close());
  const commands = new CommandRouter();
  commands.route(Fixtures.SlowCommand).to(producer);
  commands.route(Fixtures.FailCommand).to(producer);
  const queries = new QueryRouter();
  for (const definition of [Fixtures.Add, Fixtures.Slow, Fixtures.Fail, Fixtures.Watch]) {
    queries.route(definition.name).to(producer);
  }
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { producer, commandBus, queryBus };
}

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

/**
 * A reverse proxy like the ones in front of real services: forwards every request upstream and
 * answers 504 when the upstream has not answered within `timeoutMs` (aborting the upstream request).
 */
async function startProxy(upstream: string, timeoutMs: number) {
  const target = new URL(upstream);
  let timedOut = 0;
  const server = createServer((incoming, outgoing) => {
    const forwarded = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        clearTimeout(timer);
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    const timer = setTimeout(() => {
      timedOut++;
      forwarded.destroy();
      if (!outgoing.headersSent) {
        outgoing.writeHead(504, { 'content-type': 'text/plain', connection: 'close' });
        outgoing.end('upstream request timeout');
      }
    }, timeoutMs);
    forwarded.on('error', () => {
      clearTimeout(timer);
      if (!outgoing.headersSent) outgoing.writeHead(502).end();
    });
    incoming.pipe(forwarded);
  });
  const url = await listen(server);
  return { url, timedOut: () => timedOut };
}

function envelope(kind: 'command' | 'query', name: string, payload: unknown, id = crypto.randomUUID()) {
  return JSON.stringify({ v: 1, id, kind, name, payload, metadata: {}, createdAt: new Date().toISOString() });
}

const ASYNC = { 'content-type': 'application/json', prefer: 'respond-async' };

describe('http async accept: behind a proxy with a 1 s request timeout', () => {
  it('a 3 s query and a 3 s command still resolve their callers; synchronously they fail with the 504', {
    timeout: 30_000,
  }, async () => {
    const { url: direct, finished } = await startConsumer({ async: true });
    const proxy = await startProxy(direct, 1_000);
    const asyncSide = sendingBuses({
      url: proxy.url,
      async: { pollIntervalMs: 100, maxPollIntervalMs: 400 },
    });
    const [reply] = await Promise.all([
      asyncSide.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 3_000, tag: 'long query' }), {
        timeoutMs: 10_000,
      }),
      asyncSide.commandBus.dispatch(Fixtures.SlowCommand.create({ delayMs: 3_000, tag: 'long command' })),
    ]);
    expect(reply).toEqual({ tag: 'long query' });
    expect(finished).toContain('long command');
    expect(proxy.timedOut()).toBe(0); // every request (POST, polls) was short

    // Negative control: the same handlers without async mode — the proxy cuts the request off.
    const syncSide = sendingBuses({ url: proxy.url, retry: false });
    const queryError = (await rejectionOf(
      syncSide.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 3_000, tag: 'cut' }), { timeoutMs: 10_000 }),
    )) as DispatchError;
    expect(isSwitchyardError(queryError, ErrorCode.TransportError)).toBe(true);
    expect(((queryError.cause ?? queryError) as TransportError).status).toBe(504);
    const commandError = await rejectionOf(
      syncSide.commandBus.dispatch(Fixtures.SlowCommand.create({ delayMs: 3_000, tag: 'cut command' })),
    );
    expect(isSwitchyardError(commandError, ErrorCode.TransportError)).toBe(true);
    expect((commandError as Error).message).toContain('504');
    expect(proxy.timedOut()).toBe(2);
  });

  it('an async producer uses the synchronous answer of a consumer without async mode', async () => {
    const { url } = await startConsumer();
    const sender = sendingBuses({ url, async: true });
    await expect(sender.queryBus.dispatch(Fixtures.Add.create({ a: 1, b: 2 }))).resolves.toEqual({ sum: 3 });
    const error = await rejectionOf(sender.queryBus.dispatch(Fixtures.Fail.create({ reason: 'nope' })));
    expect(isSwitchyardError(error, ErrorCode.RemoteError)).toBe(true);
    expect((error as DispatchError).remoteCode).toBe('E_DOMAIN');
  });

  it('httpTransport carries async on both sides', async () => {
    const buses = receivingBuses();
    const transport = httpTransport({
      consumer: { async: { statusTtlMs: 60_000 } },
      producer: { url: 'http://127.0.0.1:9/', async: { pollIntervalMs: 10 } },
    });
    const consumer = transport.createConsumer({
      commandBus: buses.commandBus,
      eventBus: new EventBus(),
      queryBus: buses.queryBus,
    }) as HttpConsumer;
    const { url } = await consumer.start();
    closers.push(() => consumer.close());
    const id = crypto.randomUUID();
    const accepted = await post(url, envelope('query', Fixtures.Add.name, { a: 1, b: 2 }, id), ASYNC);
    expect(accepted.status).toBe(202);
    expect(accepted.headers.location).toBe(`/status/${id}`);
    const producer = httpTransport({ producer: { url, async: true } }).createProducer();
    closers.push(() => producer.close());
    const router = new QueryRouter();
    router.route(Fixtures.Slow.name).to(producer);
    const queryBus = new QueryBus();
    queryBus.use(router);
    await expect(
      queryBus.dispatch(Fixtures.Slow.create({ delayMs: 300, tag: 'via transport' })),
    ).resolves.toEqual({
      tag: 'via transport',
    });
  });

  it('async failures reach the caller with the same code and remote details as synchronous ones', async () => {
    const { url } = await startConsumer({ async: true });
    const sender = sendingBuses({ url, async: { pollIntervalMs: 10 } });
    const queryError = (await rejectionOf(
      sender.queryBus.dispatch(Fixtures.Fail.create({ reason: 'card declined' })),
    )) as DispatchError;
    expect(queryError.code).toBe(ErrorCode.RemoteError);
    expect(queryError.remoteCode).toBe('E_DOMAIN');
    expect(queryError.remoteName).toBe('DomainError');
    expect(queryError.message).toContain('card declined');
    const commandError = (await rejectionOf(
      sender.commandBus.dispatch(Fixtures.FailCommand.create({ reason: 'out of stock' })),
    )) as DispatchError;
    expect(commandError.code).toBe(ErrorCode.RemoteError);
    expect(commandError.remoteCode).toBe('E_DOMAIN');
  });
});

describe('http async accept: the status resource', () => {
  it('answers 202 + Location at once, then pending, then handled with the result', async () => {
    const { url } = await startConsumer({ async: true });
    const id = crypto.randomUUID();
    const body = envelope('query', Fixtures.Slow.name, { delayMs: 600, tag: 't' }, id);
    const accepted = await post(url, body, ASYNC);
    expect(accepted.status).toBe(202);
    expect(accepted.headers.location).toBe(`/status/${id}`);
    expect(accepted.headers['preference-applied']).toBe('respond-async');
    expect(accepted.json).toEqual({ id, state: 'pending' });
    const status = new URL(accepted.headers.location as string, url).href;
    expect((await post(status, '', {}, 'GET')).json).toEqual({ id, state: 'pending' });
    // A retried POST of the same message while it runs gets the same status and does not run again.
    const retried = await post(url, body, ASYNC);
    expect(retried.status).toBe(202);
    expect(retried.headers.location).toBe(`/status/${id}`);
    await waitFor(
      async () => ((await post(status, '', {}, 'GET')).json as { state: string }).state !== 'pending',
    );
    const handled = await post(status, '', {}, 'GET');
    expect(handled.status).toBe(200);
    expect(handled.headers['cache-control']).toBe('no-store');
    expect(handled.json).toEqual({ id, state: 'handled', result: { tag: 't' } });
    // Retried once settled: the outcome itself, as the synchronous path answers it.
    const late = await post(url, body, ASYNC);
    expect(late.status).toBe(200);
    expect(late.json).toMatchObject({ inReplyTo: id, ok: true, result: { tag: 't' } });
    // The same id with another body is not a retry.
    const other = await post(url, envelope('query', Fixtures.Add.name, { a: 1, b: 1 }, id), ASYNC);
    expect(other.status).toBe(409);
  });

  it('records a failure with the remote error body, keeps bad input synchronous, and honours wait=N', async () => {
    const { url } = await startConsumer({ async: true });
    const id = crypto.randomUUID();
    const accepted = await post(
      url,
      envelope('query', Fixtures.Fail.name, { reason: 'declined' }, id),
      ASYNC,
    );
    expect(accepted.status).toBe(202);
    const status = new URL(accepted.headers.location as string, url).href;
    await waitFor(
      async () => ((await post(status, '', {}, 'GET')).json as { state: string }).state !== 'pending',
    );
    expect((await post(status, '', {}, 'GET')).json).toEqual({
      id,
      state: 'failed',
      status: 500,
      error: { name: 'DomainError', message: 'declined', code: 'E_DOMAIN' },
    });
    // Bad input is answered at once, as without the preference: no status is created.
    const malformed = await post(url, '{"v":1', ASYNC);
    expect(malformed.status).toBe(400);
    expect(malformed.headers.location).toBeUndefined();
    const invalid = await post(url, envelope('command', Fixtures.ValidatedCommand.name, {}), ASYNC);
    expect(invalid.status).toBe(422);
    expect(invalid.headers['x-switchyard-reply']).toBe('1');
    // A handler done within `wait` seconds is answered synchronously.
    const quick = await post(url, envelope('query', Fixtures.Add.name, { a: 2, b: 3 }), {
      ...ASYNC,
      prefer: 'respond-async, wait=5',
    });
    expect(quick.status).toBe(200);
    expect((quick.json as { result: unknown }).result).toEqual({ sum: 5 });
    // Without the preference: synchronous as before.
    const plain = await post(url, envelope('query', Fixtures.Add.name, { a: 1, b: 1 }), {
      'content-type': 'application/json',
    });
    expect(plain.status).toBe(200);
  });

  it('forgets a status after statusTtlMs and beyond maxStatuses: 404 with a typed body', async () => {
    const { url } = await startConsumer({ async: { statusTtlMs: 300, maxStatuses: 2 } });
    const locations: string[] = [];
    for (let index = 0; index < 3; index++) {
      const accepted = await post(url, envelope('query', Fixtures.Add.name, { a: index, b: 0 }), ASYNC);
      locations.push(new URL(accepted.headers.location as string, url).href);
      await waitFor(
        async () =>
          ((await post(locations[index]!, '', {}, 'GET')).json as { state: string }).state === 'handled',
      );
    }
    const evicted = await post(locations[0]!, '', {}, 'GET');
    expect(evicted.status).toBe(404); // the oldest went first: at most 2 kept
    expect((await post(locations[2]!, '', {}, 'GET')).status).toBe(200);
    await sleep(400);
    const expired = await post(locations[2]!, '', {}, 'GET');
    expect(expired.status).toBe(404);
    expect(expired.json).toEqual({
      error: {
        name: 'StatusNotFound',
        message: expect.stringContaining('No status for'),
        code: 'SWITCHYARD_STATUS_NOT_FOUND',
      },
    });
    expect((await post(new URL('/status/never-seen', url).href, '', {}, 'GET')).status).toBe(404);

    // The producer reports an expired status as a transport error with the 404 and its body.
    const { url: shortLived } = await startConsumer({ async: { statusTtlMs: 1 } });
    const sender = sendingBuses({ url: shortLived, async: { pollIntervalMs: 200 } });
    const error = (await rejectionOf(
      sender.queryBus.dispatch(Fixtures.Add.create({ a: 1, b: 1 })),
    )) as DispatchError;
    expect(isSwitchyardError(error, ErrorCode.TransportError)).toBe(true);
    expect(error.remoteCode).toBe('SWITCHYARD_STATUS_NOT_FOUND');
  });

  it('protects the status resource with the same auth hook as messages', async () => {
    const token = 'status-token-0123456789';
    const { url } = await startConsumer({ async: true, auth: bearerAuth(token) });
    const auth = { authorization: `Bearer ${token}` };
    const accepted = await post(url, envelope('query', Fixtures.Add.name, { a: 1, b: 1 }), {
      ...ASYNC,
      ...auth,
    });
    expect(accepted.status).toBe(202);
    const status = new URL(accepted.headers.location as string, url).href;
    const anonymous = await post(status, '', {}, 'GET');
    expect(anonymous.status).toBe(401);
    expect(JSON.stringify(anonymous.json)).not.toContain('sum');
    expect((await post(status, '', { authorization: 'Bearer wrong' }, 'GET')).status).toBe(403);
    await waitFor(
      async () => ((await post(status, '', auth, 'GET')).json as { state: string }).state === 'handled',
    );
    // The producer polls with its auth headers: bearer and HMAC (signed per poll).
    const bearer = sendingBuses({ url, async: { pollIntervalMs: 20 }, headers: bearerHeaders(token) });
    await expect(bearer.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 200, tag: 'b' }))).resolves.toEqual(
      {
        tag: 'b',
      },
    );
    const secret = 'hmac-secret-0123456789';
    const { url: signedUrl } = await startConsumer({ async: true, auth: hmacAuth(secret) });
    const signed = sendingBuses({
      url: signedUrl,
      async: { pollIntervalMs: 20 },
      headers: hmacHeaders(secret),
    });
    await expect(signed.queryBus.dispatch(Fixtures.Slow.create({ delayMs: 200, tag: 'h' }))).resolves.toEqual(
      {
        tag: 'h',
      },
    );
    const unsigned = await post(new URL(`/status/${crypto.randomUUID()}`, signedUrl).href, '', {}, 'GET');
    expect(unsigned.status).toBe(401);
  });

  it("DELETE of a pending status fires the handler's signal (a timed-out or aborted caller sends it)", async () => {
    const { url, signals } = await startConsumer({ async: true });
    const sender = sendingBuses({ url, async: { pollIntervalMs: 20 } });
    const error = await rejectionOf(
      sender.queryBus.dispatch(Fixtures.Watch.create({ tag: 'gone', maxMs: 5_000 }), { timeoutMs: 300 }),
    );
    expect(isSwitchyardError(error, ErrorCode.Timeout)).toBe(true);
    await waitFor(() => signals.includes('gone'), 3_000, "the handler's signal");
  });

  it('refuses a bad configuration', () => {
    const commandBus = new CommandBus();
    const configurationError = (build: () => unknown): unknown => {
      try {
        build();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    const noHosts = configurationError(
      () => new HttpConsumer({ commandBus, async: { callbackSecret: 'callback-secret' } }),
    );
    expect(isSwitchyardError(noHosts, ErrorCode.InvalidConfiguration)).toBe(true);
    expect((noHosts as Error).message).toContain("callbackHosts: 'any'");
    const shortTtl = configurationError(
      () => new HttpConsumer({ commandBus, auth: hmacAuth('s3cret'), async: { statusTtlMs: 1_000 } }),
    );
    expect(isSwitchyardError(shortTtl, ErrorCode.InvalidConfiguration)).toBe(true);
    const badPoll = configurationError(
      () =>
        new HttpProducer({
          url: 'http://127.0.0.1:9/',
          async: { pollIntervalMs: 500, maxPollIntervalMs: 100 },
        }),
    );
    expect(isSwitchyardError(badPoll, ErrorCode.InvalidConfiguration)).toBe(true);
  });
});

describe('http async accept: signed callbacks', () => {
  const secret = 'callback-secret-0123456789';

  /** A callback endpoint: records each POST; answers `statuses` in turn (then 204). */
  async function callbackReceiver(statuses: number[] = []) {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    const server = createServer(async (request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      received.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(statuses.shift() ?? 204).end();
    });
    const url = await listen(server);
    return { url: `${url}hooks/switchyard`, host: new URL(url).host, received };
  }

  it('POSTs the outcome to the callback URL, signed; verifyCallbackSignature accepts it', async () => {
    const hook = await callbackReceiver([503]); // first attempt fails: retried
    const { url } = await startConsumer({
      async: { callbackSecret: secret, callbackHosts: [hook.host], callbackRetryDelayMs: 20 },
    });
    const id = crypto.randomUUID();
    const accepted = await post(url, envelope('query', Fixtures.Add.name, { a: 40, b: 2 }, id), {
      ...ASYNC,
      [CALLBACK_HEADER]: hook.url,
    });
    expect(accepted.status).toBe(202);
    await waitFor(() => hook.received.length === 2, 5_000, 'the retried callback');
    const { headers, body } = hook.received[1]!;
    expect(() => verifyCallbackSignature(secret, headers, body)).not.toThrow();
    expect(JSON.parse(body)).toEqual({ id, state: 'handled', result: { sum: 42 } });
    expect(headers['x-switchyard-message-id']).toBe(id);
    // A Fetch Headers object works too.
    expect(() =>
      verifyCallbackSignature(
        secret,
        new Headers({ [CALLBACK_SIGNATURE_HEADER]: String(headers[CALLBACK_SIGNATURE_HEADER]) }),
        body,
      ),
    ).not.toThrow();
  });

  it('verifyCallbackSignature refuses a bad signature, a tampered body, a stale timestamp, a missing header', () => {
    const body = JSON.stringify({ id: 'x', state: 'handled', result: 1 });
    const signature = signCallback(secret, body);
    const reasonOf = (run: () => void): string | undefined => {
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(CallbackSignatureError);
        expect(isSwitchyardError(error, ErrorCode.Unauthorized)).toBe(true);
        return (error as CallbackSignatureError).reason;
      }
      return undefined;
    };
    const headers = { [CALLBACK_SIGNATURE_HEADER]: signature };
    expect(reasonOf(() => verifyCallbackSignature(secret, headers, body))).toBeUndefined();
    expect(reasonOf(() => verifyCallbackSignature('another-secret', headers, body))).toBe('mismatch');
    expect(reasonOf(() => verifyCallbackSignature(secret, headers, body.replace('1', '2')))).toBe('mismatch');
    const stale = { [CALLBACK_SIGNATURE_HEADER]: signCallback(secret, body, Date.now() - 10 * 60_000) };
    expect(reasonOf(() => verifyCallbackSignature(secret, stale, body))).toBe('expired');
    expect(
      reasonOf(() => verifyCallbackSignature(secret, stale, body, { toleranceMs: 11 * 60_000 })),
    ).toBeUndefined();
    expect(reasonOf(() => verifyCallbackSignature(secret, {}, body))).toBe('missing');
    expect(
      reasonOf(() => verifyCallbackSignature(secret, { [CALLBACK_SIGNATURE_HEADER]: 'sha256=abc' }, body)),
    ).toBe('malformed');
  });

  it('refuses a callback to a host not allowed or without a secret (400), and reports one that keeps failing', async () => {
    const hook = await callbackReceiver([500, 500, 500]);
    const { url, errors } = await startConsumer({
      async: {
        callbackSecret: secret,
        callbackHosts: [hook.host],
        callbackRetries: 1,
        callbackRetryDelayMs: 10,
      },
    });
    const elsewhere = await post(url, envelope('query', Fixtures.Add.name, { a: 1, b: 1 }), {
      ...ASYNC,
      [CALLBACK_HEADER]: 'http://169.254.169.254/latest/meta-data',
    });
    expect(elsewhere.status).toBe(400);
    expect((elsewhere.json as { error: { name: string } }).error.name).toBe('CallbackRefused');
    const { url: noSecret } = await startConsumer({ async: true });
    const refused = await post(noSecret, envelope('query', Fixtures.Add.name, { a: 1, b: 1 }), {
      ...ASYNC,
      [CALLBACK_HEADER]: hook.url,
    });
    expect(refused.status).toBe(400);
    // A callback that keeps failing: retried callbackRetries times, then reported to onError.
    const accepted = await post(url, envelope('query', Fixtures.Add.name, { a: 1, b: 1 }), {
      ...ASYNC,
      [CALLBACK_HEADER]: hook.url,
    });
    expect(accepted.status).toBe(202);
    await waitFor(() => errors.some((entry) => entry.stage === 'reply'), 5_000, 'the callback failure');
    expect(hook.received).toHaveLength(2);
    expect(
      isSwitchyardError(errors.find((entry) => entry.stage === 'reply')!.error, ErrorCode.TransportError),
    ).toBe(true);
  });
});
