import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AnyMessage,
  fulfilledWithin,
  MessageReceiver,
  type ReceiveResult,
  type ReceiverOptions,
  type RemoteErrorInfo,
  toRemoteErrorInfo,
  type WireData,
} from '@switchyard/core';
import type { AuthHook, AuthVerdict } from './auth-hook.ts';
import { DedupeWindow } from './dedupe-window.ts';
import { encodeErrorBody } from './error-body.ts';
import { readBody } from './read-body.ts';
import { statusForFailure } from './status-for-failure.ts';

/** Options of the {@link HttpConsumer}. */
export interface HttpConsumerOptions extends ReceiverOptions {
  /** Largest request body accepted; a larger one is answered 413 without being buffered. @default 1_048_576 (1 MiB) */
  readonly bodyLimitBytes?: number | undefined;
  /** Decides whether a request may reach the buses (see `bearerAuth`, `hmacAuth`). @default undefined — no auth */
  readonly auth?: AuthHook | undefined;
  /**
   * How long the answer to a command or event is remembered by message id, so that a retried POST
   * of the same message is answered without running its handler again. Best effort: in memory, in
   * this process only. Queries share only a concurrent duplicate's answer. `0` turns it off.
   * @default 60_000
   */
  readonly dedupeWindowMs?: number | undefined;
  /** Most message ids remembered for de-duplication; the oldest are forgotten first. @default 10_000 */
  readonly dedupeMaxEntries?: number | undefined;
  /**
   * Time allowed to receive a whole request body, from the moment the handler sees the request;
   * a slower client is answered 408 and disconnected. Applies to a mounted `handler` too.
   * @default 10_000
   */
  readonly bodyTimeoutMs?: number | undefined;
  /** `listen()` only: time allowed to receive the request headers (`server.headersTimeout`). @default 10_000 */
  readonly headersTimeoutMs?: number | undefined;
  /** `listen()` only: time allowed to receive the whole request (`server.requestTimeout`). @default 30_000 */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * `listen()` only: how long an idle keep-alive connection stays open (`server.keepAliveTimeout`).
   * Keep it above the producer's `keepAliveTimeoutMs`.
   * @default 5_000
   */
  readonly keepAliveTimeoutMs?: number | undefined;
  /** `close()`: how long to wait for requests in flight before closing their connections anyway. @default 10_000 */
  readonly closeTimeoutMs?: number | undefined;
  /**
   * Called with every message that failed (decode, validation, unknown, handler) and with errors
   * of the auth hook. The HTTP answer is sent either way.
   * @default undefined
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** Where `listen()` put the server. */
export interface ListenOptions {
  /** TCP port; `0` picks a free one. @default 0 */
  readonly port?: number | undefined;
  /** Interface to bind. @default '127.0.0.1' (loopback only; use '0.0.0.0' to accept remote hosts) */
  readonly host?: string | undefined;
}

/** The bound address returned by `listen()`. */
export interface HttpConsumerAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port/`, ready for the producer's `url`. */
  readonly url: string;
}

/** One HTTP answer. */
interface Answer {
  readonly status: number;
  readonly body: WireData | undefined;
  readonly contentType: string | undefined;
}

const ACCEPTED: Answer = { status: 202, body: undefined, contentType: undefined };
const JSON_TYPE = 'application/json';

function errorAnswer(status: number, error: RemoteErrorInfo): Answer {
  return { status, body: encodeErrorBody(error), contentType: JSON_TYPE };
}

/**
 * Receives messages over HTTP and dispatches them into local buses. `handler` is a plain
 * `node:http` request listener: pass it to `http.createServer`, mount it on a route of an existing
 * server (Express, Fastify, Hono's node server), or let `listen()` start a server for you.
 *
 * Answers: 202 command/event handled, 200 query reply, 400 malformed envelope, 401/403 refused by
 * `auth`, 404 unknown message, 405 not a POST, 408 body too slow, 413 body over the limit, 415 wrong
 * content type, 422 payload failed validation, 500 handler failed, 503 shutting down. Failed
 * queries still carry their error reply, so the producer rejects with the remote error.
 *
 * @example
 * const consumer = new HttpConsumer({ commandBus, queryBus, auth: bearerAuth(token) });
 * const { url } = await consumer.listen({ port: 8080 });
 * // … later
 * await consumer.close();
 */
export class HttpConsumer {
  /** The request listener: `(req, res) => void`. Never throws; every request gets an answer. */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
  readonly #receiver: MessageReceiver;
  readonly #contentType: string;
  readonly #bodyLimit: number;
  readonly #bodyTimeoutMs: number;
  readonly #auth: AuthHook | undefined;
  readonly #dedupe: DedupeWindow<Answer> | undefined;
  readonly #exposeStack: boolean;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #options: HttpConsumerOptions;
  #server: Server | undefined;
  #closing: Promise<void> | undefined;
  #inFlight = 0;
  #idle: (() => void) | undefined;

  constructor(options: HttpConsumerOptions) {
    this.#options = options;
    this.#receiver = new MessageReceiver('http', options);
    this.#contentType = this.#receiver.codec.contentType.toLowerCase();
    this.#bodyLimit = options.bodyLimitBytes ?? 1024 * 1024;
    this.#bodyTimeoutMs = options.bodyTimeoutMs ?? 10_000;
    this.#auth = options.auth;
    const windowMs = options.dedupeWindowMs ?? 60_000;
    this.#dedupe = windowMs > 0 ? new DedupeWindow(windowMs, options.dedupeMaxEntries ?? 10_000) : undefined;
    this.#exposeStack = options.exposeErrorStack === true;
    this.#onError = options.onError;
    this.handler = (request, response) => {
      this.#inFlight++;
      this.#serve(request, response).then(
        () => this.#done(),
        (error: unknown) => {
          this.#report(error);
          if (!response.headersSent) {
            this.#send(response, errorAnswer(500, toRemoteErrorInfo(error, this.#exposeStack)), true);
          } else response.destroy();
          this.#done();
        },
      );
    };
  }

  /** Requests being handled right now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** The address `listen()` bound, or `undefined` before. */
  get address(): HttpConsumerAddress | undefined {
    const address = this.#server?.address();
    if (address === null || address === undefined || typeof address === 'string') return undefined;
    return toAddress(address);
  }

  /**
   * Starts a `node:http` server with `handler` and the server timeouts from the options (headers,
   * whole request, keep-alive), and resolves with the bound address.
   */
  async listen(options: ListenOptions = {}): Promise<HttpConsumerAddress> {
    if (this.#server !== undefined) throw new Error('HttpConsumer.listen() was already called');
    if (this.#closing !== undefined) throw new Error('HttpConsumer is closed');
    const requestTimeout = this.#options.requestTimeoutMs ?? 30_000;
    // Node refuses a headers timeout above the request timeout.
    const headersTimeout = Math.min(this.#options.headersTimeoutMs ?? 10_000, requestTimeout || Infinity);
    const server = createServer(
      {
        headersTimeout,
        requestTimeout,
        keepAliveTimeout: this.#options.keepAliveTimeoutMs ?? 5_000,
        // Node checks the two timeouts above on this interval (default 30 s): check often enough
        // that a slow sender is cut off close to its deadline.
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, headersTimeout, requestTimeout)),
      },
      this.handler,
    );
    this.#server = server;
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    await once(server, 'listening');
    return toAddress(server.address() as AddressInfo);
  }

  /**
   * Graceful shutdown: new requests are answered 503, requests in flight finish (up to
   * `closeTimeoutMs`), then the server started by `listen()` closes its idle keep-alive
   * connections and stops. A mounted `handler` only stops taking requests; its server is yours.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const server = this.#server;
    const closed =
      server === undefined ? undefined : new Promise<void>((resolve) => server.close(() => resolve()));
    const timeoutMs = this.#options.closeTimeoutMs ?? 10_000;
    if (this.#inFlight > 0) {
      const idle = new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
      await fulfilledWithin(idle, timeoutMs);
    }
    if (server !== undefined) {
      server.closeIdleConnections();
      if (this.#inFlight > 0) server.closeAllConnections();
      const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
      await closed;
      clearTimeout(timer);
    }
  }

  #done(): void {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#idle !== undefined) {
      this.#idle();
      this.#idle = undefined;
    }
  }

  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (this.#closing !== undefined) {
      response.setHeader('retry-after', '1');
      return this.#send(
        response,
        errorAnswer(503, {
          name: 'ServiceUnavailable',
          message: 'The consumer is shutting down',
          code: undefined,
        }),
        true,
      );
    }
    if (request.method !== 'POST') {
      response.setHeader('allow', 'POST');
      return this.#send(
        response,
        errorAnswer(405, { name: 'MethodNotAllowed', message: 'Send messages with POST', code: undefined }),
        true,
      );
    }
    if (!this.#acceptsType(request.headers['content-type'])) {
      return this.#send(
        response,
        errorAnswer(415, {
          name: 'UnsupportedMediaType',
          message: `Content-Type must be ${this.#contentType}`,
          code: undefined,
        }),
        true,
      );
    }
    const declared = Number(request.headers['content-length']);
    if (declared > this.#bodyLimit) return this.#send(response, this.#tooLarge(), true);

    const body = await readBody(request, this.#bodyLimit, this.#bodyTimeoutMs);
    if (body === 'aborted') {
      response.destroy();
      return;
    }
    if (body === 'too-large') return this.#send(response, this.#tooLarge(), true);
    if (body === 'consumed') {
      return this.#send(
        response,
        errorAnswer(500, {
          name: 'BodyAlreadyConsumed',
          message:
            'Another middleware read the request body before the Switchyard handler (e.g. express.json()); mount consumer.handler before body parsers, or behind express.raw()',
          code: undefined,
        }),
        false,
      );
    }
    if (body === 'timeout') {
      return this.#send(
        response,
        errorAnswer(408, {
          name: 'RequestTimeout',
          message: `The body did not arrive within ${this.#bodyTimeoutMs} ms`,
          code: undefined,
        }),
        true,
      );
    }

    if (this.#auth !== undefined) {
      const verdict: AuthVerdict = await this.#auth({
        method: request.method,
        url: request.url ?? '/',
        headers: request.headers,
        body,
      });
      if (verdict !== 'allow') {
        const status = verdict === 'forbidden' ? 403 : 401;
        if (status === 401) response.setHeader('www-authenticate', 'Bearer');
        return this.#send(
          response,
          errorAnswer(status, {
            name: 'UnauthorizedError',
            message: status === 401 ? 'Credentials are missing' : 'Credentials were refused',
            code: 'SWITCHYARD_UNAUTHORIZED',
          }),
          false,
        );
      }
    }
    this.#send(response, await this.#receive(body), false);
  }

  async #receive(body: Buffer): Promise<Answer> {
    let decoded: AnyMessage;
    try {
      decoded = this.#receiver.codec.decode(body);
    } catch (error) {
      return this.#answer(this.#receiver.failed(error));
    }
    let message: AnyMessage;
    try {
      message = await this.#receiver.accept(decoded);
    } catch (error) {
      // Readable but invalid: a query still gets its error reply.
      return this.#answer(this.#receiver.failed(error, decoded));
    }
    const dedupe = this.#dedupe;
    if (dedupe === undefined) return this.#answer(await this.#receiver.dispatch(message));
    const earlier = dedupe.get(message.id);
    if (earlier !== undefined) return earlier;
    const outcome = this.#receiver.dispatch(message).then((result) => this.#answer(result));
    dedupe.remember(message.id, outcome, message.kind !== 'query');
    return outcome;
  }

  #answer(result: ReceiveResult): Answer {
    if (result.ok) {
      if (result.reply === undefined) return ACCEPTED;
      return { status: 200, body: this.#receiver.encodeReply(result.reply), contentType: this.#contentType };
    }
    this.#report(result.error);
    const status = statusForFailure(result.failure);
    if (result.reply !== undefined) {
      return { status, body: this.#receiver.encodeReply(result.reply), contentType: this.#contentType };
    }
    return errorAnswer(status, toRemoteErrorInfo(result.error, this.#exposeStack));
  }

  #tooLarge(): Answer {
    return errorAnswer(413, {
      name: 'PayloadTooLargeError',
      message: `Body exceeds the limit of ${this.#bodyLimit} bytes`,
      code: 'SWITCHYARD_PAYLOAD_TOO_LARGE',
    });
  }

  #acceptsType(header: string | undefined): boolean {
    if (header === undefined) return false;
    const semicolon = header.indexOf(';');
    const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
    return type === this.#contentType;
  }

  /** Writes an answer; `close` ends the connection after it (the body may be left unread). */
  #send(response: ServerResponse, answer: Answer, close: boolean): void {
    if (response.headersSent || response.destroyed) return;
    if (close || this.#closing !== undefined) response.setHeader('connection', 'close');
    if (answer.body === undefined) {
      response.writeHead(answer.status, { 'content-length': '0' });
      response.end();
      return;
    }
    response.writeHead(answer.status, {
      'content-type': answer.contentType ?? JSON_TYPE,
      'content-length': String(Buffer.byteLength(answer.body)),
    });
    response.end(answer.body);
  }

  #report(error: unknown): void {
    try {
      this.#onError?.(error);
    } catch {
      // A failing error hook must not take the consumer down.
    }
  }
}

function toAddress(address: AddressInfo): HttpConsumerAddress {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { host: address.address, port: address.port, url: `http://${host}:${address.port}/` };
}
