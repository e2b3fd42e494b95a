import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AnyMessage,
  ConfigurationError,
  checkOption,
  type ReceiveResult,
  requireAuthOffLoopback,
  TransportConsumer,
  type TransportConsumerOptions,
  toRemoteErrorInfo,
} from '@switchyard/core';
import { Agent } from 'undici';
import {
  type AsyncSettings,
  asyncSettings,
  checkCallbackUrl,
  deliverCallback,
  type HttpConsumerAsyncOptions,
  RESPOND_ASYNC,
  readPreferences,
  statusDocument,
  statusIdOf,
  statusLocation,
} from './async-accept.ts';
import type { AuthHook } from './auth-hook.ts';
import { BodyDeadlines } from './body-deadlines.ts';
import { CALLBACK_HEADER } from './callback-signature.ts';
import { DedupeWindow } from './dedupe-window.ts';
import { ACCEPTED, type Answer, errorAnswer, replyAnswer, writeAnswer } from './http-answer.ts';
import { readBody } from './read-body.ts';
import {
  contentTypeIs,
  declaredLengthAtMost,
  firstRefusal,
  postOnly,
  type RequestCheck,
  tooLarge,
  unavailable,
} from './request-checks.ts';
import { type StatusEntry, StatusStore } from './status-store.ts';

/** Options of the {@link HttpConsumer}. */
export interface HttpConsumerOptions extends TransportConsumerOptions {
  /** `start()`: the TCP port of the built-in server; `0` picks a free one. @default 0 */
  readonly port?: number | undefined;
  /**
   * `start()`: the interface to bind. The default accepts connections from this host only: pass
   * `'0.0.0.0'` (or `'::'`) to serve other hosts, on purpose.
   * @default '127.0.0.1'
   */
  readonly host?: string | undefined;
  /**
   * Largest request body accepted; a larger one is answered 413 without being buffered. The
   * producer's `maxMessageBytes` has the same default, so it refuses such a message at the sender.
   * @default 1_048_576 (1 MiB)
   */
  readonly maxMessageBytes?: number | undefined;
  /**
   * Decides whether a request may reach the buses (see `bearerAuth`, `hmacAuth`). Protected mode:
   * a `host` other hosts can reach (`0.0.0.0`, `::`, a LAN address) needs a hook, or `'none'` to
   * accept anyone who can reach the port, on purpose — else the constructor throws
   * `ConfigurationError`. Loopback hosts need neither.
   * @default undefined — no auth, and only a loopback `host` is allowed
   */
  readonly auth?: AuthHook | 'none' | undefined;
  /**
   * How long the answer to a command or event is remembered by message id, so that a retried POST
   * of the same message is answered without running its handler again. Best effort: in memory, in
   * this process only. Transient failures (5xx) are not remembered, so a retry runs again; queries
   * are not de-duplicated (keep them free of side effects). `0` turns it off. Must cover the auth hook's
   * `replayWindowMs` (HMAC), else the constructor throws `ConfigurationError`.
   * @default 60_000
   */
  readonly dedupeWindowMs?: number | undefined;
  /** Most settled answers remembered for de-duplication; the oldest are forgotten first. @default 10_000 */
  readonly dedupeMaxEntries?: number | undefined;
  /**
   * Time allowed to receive a whole request body, from the moment the handler sees the request;
   * a slower client is answered 408 and disconnected. Applies to a mounted `handler` too.
   * @default 10_000
   */
  readonly bodyTimeoutMs?: number | undefined;
  /** Built-in server only: time allowed to receive the request headers (`server.headersTimeout`). @default 10_000 */
  readonly headersTimeoutMs?: number | undefined;
  /** Built-in server only: time allowed to receive the whole request (`server.requestTimeout`). @default 30_000 */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * Built-in server only: how long an idle keep-alive connection stays open
   * (`server.keepAliveTimeout`). Keep it above the producer's `keepAliveTimeoutMs`.
   * @default 5_000
   */
  readonly keepAliveTimeoutMs?: number | undefined;
  /**
   * Asynchronous requests (RFC 7240 `Prefer: respond-async`): a request that asks for it is
   * checked, authenticated, decoded and validated as usual (bad input still gets its 4xx at once),
   * then answered `202` with `Location: <path>/status/<message id>` and handled in the background;
   * `GET` of that status resource answers `{ state: 'pending' | 'handled' | 'failed', … }`, kept
   * for `statusTtlMs` once settled, and `DELETE` fires the handler's `signal`. A request may also
   * name a callback URL (`x-switchyard-callback`) the outcome is POSTed to, signed with
   * `callbackSecret`. Requests without the preference are answered synchronously, as before.
   * `true` takes every default. Needs a JSON codec.
   * @default undefined — off: every request is answered once handled, and `…/status/…` paths are
   * messages endpoints like any other
   */
  readonly async?: HttpConsumerAsyncOptions | boolean | undefined;
}

/** The address `start()` resolves with. */
export interface HttpConsumerAddress {
  readonly host: string;
  readonly port: number;
  /** `http://host:port/`, ready for the producer's `url`. */
  readonly url: string;
}

/**
 * Receives messages over HTTP and dispatches them into local buses. `start()` starts a `node:http`
 * server on `port`/`host` and resolves with its address; or mount `handler` (a plain request
 * listener) on a route of your own server (Express, Fastify, Hono's node server) and skip `start()`.
 *
 * Each request passes small steps in order: shutting down or over `concurrency` → 503 +
 * `Retry-After`; not POST → 405; wrong content type → 415; declared body over `maxMessageBytes` →
 * 413; body read (413, 408) → auth (401/403) → the receive pipeline. Its outcome maps to a status by
 * core's outcome table: 202 handled, 200 query reply, 400 malformed, 404 unknown, 422 invalid,
 * 500 handler failed, 504 deadline passed. A message that failed after it was decoded is answered
 * with a reply envelope (header `x-switchyard-reply`), so the producer rejects with the remote error
 * — for commands as for queries. A caller that disconnects (timeout, abort) fires the handler's
 * `signal`. With `async` on, a request that prefers `respond-async` is answered 202 + `Location` once
 * decoded and validated, and handled in the background (status resource, optional signed callback).
 *
 * @example
 * const consumer = new HttpConsumer({ commandBus, queryBus, auth: bearerAuth(token), port: 8080 });
 * const { url } = await consumer.start();
 * // … later
 * await consumer.close();
 */
export class HttpConsumer extends TransportConsumer<HttpConsumerAddress> {
  /** The request listener: `(req, res) => void`. Never throws; every request gets an answer. */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => void;
  readonly #options: HttpConsumerOptions;
  readonly #contentType: string;
  readonly #bodyLimit: number;
  readonly #bodyTimeoutMs: number;
  /** One timer for the body deadlines of every request. */
  readonly #bodyDeadlines: BodyDeadlines;
  readonly #auth: AuthHook | undefined;
  readonly #dedupe: DedupeWindow<Answer> | undefined;
  readonly #exposeStack: boolean;
  readonly #checks: readonly RequestCheck[];
  readonly #async: AsyncSettings | undefined;
  readonly #statuses: StatusStore | undefined;
  /** Background work (handlers accepted asynchronously, callbacks) stops when this aborts. */
  readonly #background = new AbortController();
  #callbackAgent: Agent | undefined;
  #server: Server | undefined;

  constructor(options: HttpConsumerOptions) {
    super('HttpConsumer', 'http', options, 1_000);
    this.#options = options;
    this.#contentType = this.receiver.codec.contentType.toLowerCase();
    this.#bodyLimit = checkOption(
      'HttpConsumer',
      'maxMessageBytes',
      options.maxMessageBytes,
      1024 * 1024,
      'positive',
    );
    this.#bodyTimeoutMs = checkOption(
      'HttpConsumer',
      'bodyTimeoutMs',
      options.bodyTimeoutMs,
      10_000,
      'positive',
    );
    this.#bodyDeadlines = new BodyDeadlines(this.#bodyTimeoutMs);
    requireAuthOffLoopback(
      'HttpConsumer',
      [options.host ?? '127.0.0.1'],
      typeof options.auth === 'function',
      options.auth,
      'auth: bearerAuth(token) or hmacAuth(…)',
    );
    this.#auth = options.auth === 'none' ? undefined : options.auth;
    const windowMs = options.dedupeWindowMs ?? 60_000;
    const replayWindowMs = this.#auth?.replayWindowMs ?? 0;
    if (!(windowMs >= replayWindowMs)) {
      throw new ConfigurationError(
        `HttpConsumer: dedupeWindowMs (${windowMs}) is shorter than the auth hook's replay window (${replayWindowMs} ms): a replayed signed command would run twice. Raise dedupeWindowMs or lower the hook's tolerance.`,
      );
    }
    this.#dedupe = windowMs > 0 ? new DedupeWindow(windowMs, options.dedupeMaxEntries ?? 10_000) : undefined;
    this.#exposeStack = options.exposeErrorStack === true;
    this.#async = asyncSettings(options.async, this.#contentType, replayWindowMs);
    this.#statuses =
      this.#async === undefined
        ? undefined
        : new StatusStore(this.#async.statusTtlMs, this.#async.maxStatuses);
    this.#checks = [
      (request) => this.#admission(request),
      postOnly,
      contentTypeIs(this.#contentType),
      declaredLengthAtMost(this.#bodyLimit),
    ];
    this.handler = (request, response) => {
      if (this.#async !== undefined) {
        const statusId = statusIdOf(request);
        if (statusId !== undefined) {
          this.#serveStatus(request, response, statusId).catch((error: unknown) => {
            this.errors.report(error, 'receive');
            if (!response.headersSent) {
              writeAnswer(response, errorAnswer(500, toRemoteErrorInfo(error, this.#exposeStack)), true);
            } else response.destroy();
          });
          return;
        }
      }
      this.lifecycle.inFlight.enter();
      // Never rejects, and leaves the in-flight count itself: no callbacks to allocate per request.
      void this.#serve(request, response);
    };
  }

  protected async open(): Promise<HttpConsumerAddress> {
    const options = this.#options;
    const requestTimeout = options.requestTimeoutMs ?? 30_000;
    // Node refuses a headers timeout above the request timeout.
    const headersTimeout = Math.min(
      options.headersTimeoutMs ?? 10_000,
      requestTimeout || Number.POSITIVE_INFINITY,
    );
    const server = createServer(
      {
        headersTimeout,
        requestTimeout,
        keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
        // Node checks the two timeouts above on this interval (default 30 s): check often enough
        // that a slow sender is cut off close to its deadline.
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, headersTimeout, requestTimeout)),
      },
      this.handler,
    );
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1');
    await Promise.race([
      once(server, 'listening'),
      once(server, 'error').then(([error]) => {
        throw error;
      }),
    ]);
    this.#server = server;
    return toAddress(server.address() as AddressInfo);
  }

  /**
   * Nothing to stop: from now on every new request is answered 503 + `Retry-After` (the listening
   * socket stays open while requests in flight drain, so callers get an answer they can retry
   * rather than a refused connection).
   */
  protected stopIntake(): void {}

  protected async release(drained: boolean): Promise<void> {
    if (!drained) {
      const reason = new Error('The consumer closed before the handler finished');
      this.#statuses?.abortPending(reason);
      this.#background.abort(reason);
    }
    this.#statuses?.clear();
    const agent = this.#callbackAgent;
    this.#callbackAgent = undefined;
    if (agent !== undefined) await agent.destroy().catch(() => undefined);
    const server = this.#server;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (!drained) server.closeAllConnections();
    const timer = setTimeout(() => server.closeAllConnections(), this.lifecycle.closeTimeoutMs);
    await closed;
    clearTimeout(timer);
  }

  /** 503 while shutting down or over `concurrency` (this request is already counted). */
  #admission(_request: IncomingMessage): Answer | undefined {
    if (this.lifecycle.closing) return unavailable('The consumer is shutting down');
    if (this.lifecycle.inFlight.size > this.concurrency)
      return unavailable('The consumer is at its concurrency limit');
    return undefined;
  }

  /**
   * Serves one request counted in flight (the handler entered it) and leaves the count; never
   * rejects. One async function from the checks to the write, so a request costs one promise chain.
   */
  async #serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      let answer: Answer | undefined = firstRefusal(this.#checks, request);
      if (answer === undefined) {
        const body = await readBody(request, this.#bodyLimit, this.#bodyDeadlines);
        if (typeof body === 'string') {
          answer = this.#bodyFailure(body);
          if (answer === undefined) response.destroy();
        } else {
          // Without an auth hook there is nothing to wait for: no promise, no extra turn.
          if (this.#auth !== undefined) answer = await this.#authenticate(request, body);
          if (answer === undefined) answer = await this.#dispatchBody(request, response, body);
        }
      }
      if (answer !== undefined) writeAnswer(response, answer, this.lifecycle.closing);
    } catch (error) {
      this.errors.report(error, 'receive');
      if (!response.headersSent) {
        writeAnswer(
          response,
          errorAnswer(500, toRemoteErrorInfo(error, this.#exposeStack), { close: true }),
          true,
        );
      } else response.destroy();
    } finally {
      this.lifecycle.inFlight.leave();
    }
  }

  /** A body that passed the checks and auth: received synchronously, or accepted asynchronously. */
  #dispatchBody(request: IncomingMessage, response: ServerResponse, body: Buffer): Answer | Promise<Answer> {
    if (this.#async !== undefined) {
      const preferences = readPreferences(request.headers.prefer);
      const callback = request.headers[CALLBACK_HEADER];
      if (preferences.respondAsync || callback !== undefined) {
        return this.#receiveAsync(request, body, preferences.waitSeconds, callback, callerGone(response));
      }
    }
    // The handler's signal, built only if a handler reads it: most never do.
    return this.#receive(body, () => callerGone(response));
  }

  #bodyFailure(reason: 'too-large' | 'timeout' | 'aborted' | 'consumed'): Answer | undefined {
    switch (reason) {
      case 'aborted':
        return undefined;
      case 'too-large':
        return tooLarge(this.#bodyLimit);
      case 'timeout':
        return errorAnswer(
          408,
          {
            name: 'RequestTimeout',
            message: `The body did not arrive within ${this.#bodyTimeoutMs} ms`,
            code: undefined,
          },
          { close: true },
        );
      case 'consumed':
        return errorAnswer(500, {
          name: 'BodyAlreadyConsumed',
          message:
            'Another middleware read the request body before the Switchyard handler (e.g. express.json()); mount consumer.handler before body parsers, or behind express.raw()',
          code: undefined,
        });
    }
  }

  async #authenticate(request: IncomingMessage, body: Uint8Array): Promise<Answer | undefined> {
    const auth = this.#auth;
    if (auth === undefined) return undefined;
    const verdict = await auth({
      method: request.method ?? 'POST',
      url: request.url ?? '/',
      headers: request.headers,
      body,
    });
    if (verdict === 'allow') return undefined;
    const unauthenticated = verdict !== 'forbidden';
    return errorAnswer(
      unauthenticated ? 401 : 403,
      {
        name: 'UnauthorizedError',
        message: unauthenticated ? 'Credentials are missing' : 'Credentials were refused',
        code: 'SWITCHYARD_UNAUTHORIZED',
      },
      unauthenticated && auth.challenge !== undefined
        ? { headers: { 'www-authenticate': auth.challenge } }
        : {},
    );
  }

  /**
   * Decodes and accepts (validates) a body: the message, or the answer to its failure — at once
   * unless a schema validates asynchronously (then a promise, one `catch` and no async function's
   * turns). Both paths share it.
   */
  #accept(body: Buffer): AnyMessage | Answer | Promise<AnyMessage | Answer> {
    const receiver = this.receiver;
    let decoded: AnyMessage;
    let accepted: AnyMessage | Promise<AnyMessage>;
    try {
      decoded = receiver.codec.decode(body);
    } catch (error) {
      return this.#answer(receiver.failed(error));
    }
    try {
      accepted = receiver.acceptNow(decoded);
    } catch (error) {
      return this.#answer(receiver.failed(error, decoded));
    }
    if (!(accepted instanceof Promise)) return accepted;
    return accepted.catch((error: unknown) => this.#answer(receiver.failed(error, decoded)));
  }

  /**
   * The receive pipeline, with de-duplication by message id between accepting and dispatching. Not
   * `async`: a message accepted at once goes straight to the bus, and its answer costs the
   * dispatch's promise and one `then`.
   */
  #receive(body: Buffer, signal: () => AbortSignal): Answer | Promise<Answer> {
    const accepted = this.#accept(body);
    if (accepted instanceof Promise) {
      return accepted.then((message) => (isAnswer(message) ? message : this.#dispatch(message, signal)));
    }
    return isAnswer(accepted) ? accepted : this.#dispatch(accepted, signal);
  }

  /** Dispatches an accepted message; a command or event answered a moment ago gets that answer instead. */
  #dispatch(message: AnyMessage, signal: () => AbortSignal): Promise<Answer> {
    const dedupe = this.#dedupe;
    // Queries are not de-duplicated (they are free of side effects): no entry, no lookup.
    if (dedupe === undefined || message.kind === 'query') {
      return this.receiver.dispatch(message, signal).then(this.#answerOf);
    }
    const earlier = dedupe.get(message.id);
    if (earlier !== undefined) return earlier;
    const answer = this.receiver.dispatch(message, signal).then(this.#answerOf);
    dedupe.remember(message.id, answer, keepAnswer);
    return answer;
  }

  /**
   * A request that prefers `respond-async` (or names a callback): decoded and validated now (a
   * failure is answered at once, as on the synchronous path), then handled in the background while
   * the caller gets 202 + `Location` — or, with `Prefer: wait=N`, the synchronous answer if the
   * handler finished within N seconds.
   */
  async #receiveAsync(
    request: IncomingMessage,
    body: Buffer,
    waitSeconds: number | undefined,
    callbackHeader: string | string[] | undefined,
    gone: AbortSignal,
  ): Promise<Answer> {
    const settings = this.#async!;
    const statuses = this.#statuses!;
    let callback: URL | undefined;
    if (callbackHeader !== undefined) {
      const checked = checkCallbackUrl(
        Array.isArray(callbackHeader) ? (callbackHeader[0] ?? '') : callbackHeader,
        settings,
      );
      if (typeof checked === 'string') {
        return errorAnswer(400, { name: 'CallbackRefused', message: checked, code: undefined });
      }
      callback = checked;
    }
    const message = await this.#accept(body);
    if (isAnswer(message)) return message;
    // A command answered synchronously a moment ago: that answer, not a second run.
    if (this.#dedupe !== undefined && message.kind !== 'query') {
      const earlier = this.#dedupe.get(message.id);
      if (earlier !== undefined) return earlier;
    }
    const bodyHash = createHash('sha256').update(body).digest('base64');
    let entry = statuses.get(message.id);
    if (entry !== undefined) {
      // The same message again (a retry): its status, not a second run. Another body: refused.
      if (entry.bodyHash !== bodyHash) {
        return errorAnswer(409, {
          name: 'DuplicateMessageId',
          message: `Another message with id "${message.id}" was accepted already`,
          code: undefined,
        });
      }
    } else {
      entry = statuses.add(message.id, bodyHash);
      if (entry === undefined) return unavailable('The consumer keeps too many pending statuses');
      // A caller gone before its answer (202 or, with `wait`, the outcome) was written fires the
      // handler's signal, as on the synchronous path; once answered, only a DELETE does.
      const { controller } = entry;
      gone.addEventListener('abort', () => controller.abort(gone.reason), { once: true });
      this.#handleInBackground(message, entry, callback);
    }
    if (waitSeconds !== undefined && waitSeconds > 0 && entry.answer === undefined) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        entry.settled,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, waitSeconds * 1_000);
        }),
      ]);
      clearTimeout(timer);
    }
    if (entry.answer !== undefined) return entry.answer;
    return {
      status: 202,
      body: entry.document,
      contentType: 'application/json',
      headers: {
        location: statusLocation(request, message.id),
        'preference-applied': RESPOND_ASYNC,
      },
    };
  }

  /** Runs an accepted message, counted in flight (so `close()` drains it), then settles its status. */
  #handleInBackground(message: AnyMessage, entry: StatusEntry, callback: URL | undefined): void {
    const inFlight = this.lifecycle.inFlight;
    inFlight.enter();
    this.receiver
      .dispatch(message, entry.controller.signal)
      .then(async (result) => {
        const answer = this.#answer(result);
        const { state, document } = statusDocument(message.id, answer);
        this.#statuses!.settle(entry, state, document, answer);
        if (callback !== undefined) {
          this.#callbackAgent ??= new Agent({ connections: 16, keepAliveTimeout: 4_000 });
          await deliverCallback(
            callback,
            document,
            this.#async!,
            this.#callbackAgent,
            this.#background.signal,
            message.id,
          ).catch((error: unknown) =>
            this.errors.report(error, 'reply', {
              messageId: message.id,
              messageName: message.name,
              callback: `${callback.origin}${callback.pathname}`,
            }),
          );
        }
      })
      .catch((error: unknown) =>
        this.errors.report(error, 'receive', { messageId: message.id, messageName: message.name }),
      )
      .finally(() => inFlight.leave());
  }

  /**
   * `GET <path>/status/<id>`: the status document; `DELETE`: fires the handler's signal. Same auth
   * as messages (the hook sees the bytes of `"<METHOD> <id>"` as the body); not counted against
   * `concurrency`, and still answered while the consumer drains, so callers can collect outcomes.
   */
  async #serveStatus(request: IncomingMessage, response: ServerResponse, id: string): Promise<void> {
    request.resume();
    const method = request.method ?? 'GET';
    if (method !== 'GET' && method !== 'DELETE') {
      return writeAnswer(
        response,
        errorAnswer(
          405,
          { name: 'MethodNotAllowed', message: 'A status resource answers GET and DELETE', code: undefined },
          { headers: { allow: 'GET, DELETE' } },
        ),
        this.lifecycle.closing,
      );
    }
    const denied = await this.#authenticate(request, Buffer.from(`${method} ${id}`, 'utf8'));
    if (denied !== undefined) return writeAnswer(response, denied, this.lifecycle.closing);
    const entry = this.#statuses!.get(id);
    if (entry === undefined) {
      return writeAnswer(
        response,
        errorAnswer(404, {
          name: 'StatusNotFound',
          message: `No status for "${id}": unknown, expired, or kept by another consumer process`,
          code: 'SWITCHYARD_STATUS_NOT_FOUND',
        }),
        this.lifecycle.closing,
      );
    }
    if (method === 'DELETE') {
      if (entry.state === 'pending') {
        entry.controller.abort(new Error('The caller cancelled the request (DELETE of its status)'));
      }
      return writeAnswer(response, { status: 204, body: undefined, contentType: undefined }, false);
    }
    const answer: Answer = {
      status: 200,
      body: entry.document,
      contentType: 'application/json',
      headers: { 'cache-control': 'no-store' },
    };
    writeAnswer(response, answer, this.lifecycle.closing);
  }

  readonly #answerOf = (result: ReceiveResult): Answer => this.#answer(result);

  #answer(result: ReceiveResult): Answer {
    const receiver = this.receiver;
    if (result.ok) {
      if (result.reply === undefined) return ACCEPTED;
      return replyAnswer(200, receiver.encodeReply(result.reply), this.#contentType);
    }
    this.reportFailure(result);
    const status = result.outcome.status;
    // A decoded message gets a reply envelope, command or query: the producer rejects with the remote error.
    const reply =
      result.reply ??
      (result.message === undefined ? undefined : receiver.errorReply(result.message, result.error));
    if (reply !== undefined) return replyAnswer(status, receiver.encodeReply(reply), this.#contentType);
    return errorAnswer(status, toRemoteErrorInfo(result.error, this.#exposeStack));
  }
}

/** A command's or event's answer is remembered unless it was a transient failure (5xx: retry runs again). */
function keepAnswer(answer: Answer): boolean {
  return answer.status < 500;
}

/**
 * A signal that fires when the client goes away before its answer was written (timeout, abort);
 * already aborted if it went away before this was called.
 */
function callerGone(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  const unanswered = (): void => {
    if (!response.writableFinished) controller.abort(new Error('The caller closed the connection'));
  };
  if (response.closed) unanswered();
  else response.on('close', unanswered);
  return controller.signal;
}

function toAddress(address: AddressInfo): HttpConsumerAddress {
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { host: address.address, port: address.port, url: `http://${host}:${address.port}/` };
}

/** Whether `#accept` gave an answer (a failure) rather than the message: messages have no `status`. */
function isAnswer(value: AnyMessage | Answer): value is Answer {
  return 'status' in value;
}
