import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionOptions } from 'node:tls';
import {
  ConfigurationError,
  checkOption,
  errorMessage,
  type OutgoingMessage,
  ProducerClosedError,
  type ProducerWire,
  TimeoutError,
  TransportError,
  type WireCapabilities,
  type WireChannel,
  type WireData,
  withTraceHeaders,
} from '@switchyard/core';
import { Pool } from 'undici';
import { RESPOND_ASYNC } from './async-accept.ts';
import {
  type BodyLimit,
  type BufferedResponse,
  bufferedRequest,
  ResponseBodyError,
} from './buffered-request.ts';
import { isConnectionFailure } from './connection-failure.ts';
import { decodeErrorBody } from './error-body.ts';
import type { HeadersFactory } from './headers-factory.ts';
import { REPLY_HEADER } from './http-answer.ts';

/** Retries of requests that never reached a handler: connection failures and 503 (shutting down). */
export interface RetryOptions {
  /** Retries after the first attempt. @default 2 */
  readonly retries?: number | undefined;
  /** Delay before the first retry, doubled for each next one (with jitter). @default 100 */
  readonly delayMs?: number | undefined;
  /** Longest delay between two attempts. @default 2_000 */
  readonly maxDelayMs?: number | undefined;
}

/** How the producer waits for a message the consumer accepted asynchronously (`HttpWireOptions.async`). */
export interface HttpProducerAsyncOptions {
  /**
   * RFC 7240 `wait`, in whole seconds: the consumer answers synchronously if the handler finishes
   * within it (one round trip for fast handlers), else 202. Keep it below the request timeout of
   * every proxy on the way. `0`: 202 at once.
   * @default 0
   */
  readonly waitSeconds?: number | undefined;
  /** Delay before the first poll of the status resource; doubled after each poll. @default 100 */
  readonly pollIntervalMs?: number | undefined;
  /** Longest delay between two polls. @default 2_000 */
  readonly maxPollIntervalMs?: number | undefined;
}

/** The options of `HttpProducer` that are about HTTP. */
export interface HttpWireOptions {
  /** The consumer endpoint, e.g. `http://orders.internal:8080/` or an `https://` URL. */
  readonly url: string | URL;
  /** Most connections open to the consumer at once; more requests wait in undici's queue. @default 16 */
  readonly connections?: number | undefined;
  /**
   * How long an idle keep-alive connection is kept. Keep it below the consumer's keep-alive
   * timeout so the client, not the server, closes idle sockets.
   * @default 4_000
   */
  readonly keepAliveTimeoutMs?: number | undefined;
  /** Time allowed to open a connection (TCP + TLS). @default 5_000 */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Time allowed for the answer to a command or event once its request is sent. The consumer
   * answers after the handler finished, so this bounds a command's handling time as seen by the
   * producer (a dispatch's own deadline, when shorter, wins). Past it: `SWITCHYARD_TIMEOUT`.
   * Queries use `replyTimeoutMs`.
   * @default 30_000
   */
  readonly headersTimeoutMs?: number | undefined;
  /** Longest pause while the answer's body streams in. @default 30_000 */
  readonly bodyTimeoutMs?: number | undefined;
  /**
   * Extra request headers: a fixed object (e.g. `bearerHeaders(token)`) or a function called per
   * request and per retry (e.g. `hmacHeaders(secret)`).
   * @default undefined
   */
  readonly headers?: Readonly<Record<string, string>> | HeadersFactory | undefined;
  /**
   * Retries of requests that never reached a handler: connection failures (refused, reset, connect
   * timeout, socket closed) and `503` answers (the consumer is shutting down; `Retry-After` is
   * honoured up to `maxDelayMs`). Safe because the consumer de-duplicates by message id. A timeout
   * or any other status is never retried. `false` turns retries off.
   * @default { retries: 2, delayMs: 100, maxDelayMs: 2_000 }
   */
  readonly retry?: RetryOptions | false | undefined;
  /**
   * Asynchronous requests: every message is sent with `Prefer: respond-async`; a consumer with
   * `async` on answers 202 + `Location` at once, and the producer polls that status resource
   * (short GETs, backing off to `maxPollIntervalMs`) until the outcome is known, then settles the
   * dispatch exactly as a synchronous answer would — so a handler that runs longer than a proxy's
   * request timeout still resolves its caller. The wait is bounded as before: a query by
   * `replyTimeoutMs` (and its deadline), a command by its deadline, else `headersTimeoutMs`; a
   * timeout or abort stops polling and `DELETE`s the status (the remote handler's `signal` fires).
   * A consumer without `async` answers synchronously, and that answer is used.
   * @default undefined — off: each request waits for the handler
   */
  readonly async?: boolean | HttpProducerAsyncOptions | undefined;
  /** TLS options for an `https://` URL (CA, client certificate, servername, …). @default undefined */
  readonly tls?: Omit<ConnectionOptions, 'host' | 'port' | 'socket' | 'timeout'> | undefined;
}

/** Error bodies are small; never buffer more than this of one. */
const MAX_ERROR_BODY = 64 * 1024;

/** A POST's answer: a reply envelope is read whole, anything else (an error body) up to {@link MAX_ERROR_BODY}. */
const postBodyLimit: BodyLimit = (_status, headers) =>
  headers[REPLY_HEADER] === undefined ? MAX_ERROR_BODY : Number.POSITIVE_INFINITY;
/** A status poll's answer: a status document (200) is read whole, anything else up to {@link MAX_ERROR_BODY}. */
const pollBodyLimit: BodyLimit = (status) => (status === 200 ? Number.POSITIVE_INFINITY : MAX_ERROR_BODY);
/** A cancelling DELETE's answer (204, or a small error body): read, so the connection is kept. */
const deleteBodyLimit: BodyLimit = () => MAX_ERROR_BODY;

/**
 * The HTTP wire: POSTs the envelope with undici (a keep-alive `Pool`, read with `dispatch`: see
 * {@link bufferedRequest}) and hands back the reply body. Everything else — encoding, deadlines,
 * remote errors, close-once — is core's `TransportProducer`.
 */
export class HttpWire implements ProducerWire<string> {
  readonly capabilities: WireCapabilities = { replies: 'inline', confirmsHandling: true, durable: false };
  readonly #options: HttpWireOptions;
  readonly #origin: string;
  readonly #path: string;
  readonly #endpoint: string;
  readonly #headersTimeoutMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #retryMaxDelayMs: number;
  readonly #headerFactory: HeadersFactory | undefined;
  /** `undefined` when asynchronous requests are off. */
  readonly #async: AsyncPolling | undefined;
  /** Aborts polls (and their pauses) when the producer closes without draining. */
  readonly #closing = new AbortController();
  #codec: WireChannel['codec'] | undefined;
  #report: WireChannel['report'] | undefined;
  #staticHeaders: Readonly<Record<string, string>> = {};
  #textReplies = true;
  #pool: Pool | undefined;

  constructor(options: HttpWireOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new ConfigurationError(
        `HttpProducer: url must be an absolute http: or https: URL, got ${String(options.url)}`,
      );
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigurationError(`HttpProducer needs an http: or https: URL, got ${url.protocol}`);
    }
    this.#options = options;
    this.#origin = url.origin;
    this.#endpoint = `${url.origin}${url.pathname}`;
    this.#path = `${url.pathname}${url.search}`;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? 30_000;
    const retry = options.retry === false ? { retries: 0 } : (options.retry ?? {});
    this.#retries = retry.retries ?? 2;
    this.#retryDelayMs = retry.delayMs ?? 100;
    this.#retryMaxDelayMs = retry.maxDelayMs ?? 2_000;
    this.#headerFactory = typeof options.headers === 'function' ? options.headers : undefined;
    this.#async = asyncOptions(options.async);
  }

  async open(channel: WireChannel): Promise<string> {
    const contentType = channel.codec.contentType;
    this.#codec = channel.codec;
    this.#report = channel.report;
    const wait = this.#async?.waitSeconds ?? 0;
    this.#staticHeaders = {
      ...(typeof this.#options.headers === 'object' ? this.#options.headers : {}),
      'content-type': contentType,
      ...(this.#async === undefined
        ? {}
        : { prefer: wait > 0 ? `${RESPOND_ASYNC}, wait=${wait}` : RESPOND_ASYNC }),
    };
    const type = contentType.toLowerCase();
    this.#textReplies = type.includes('json') || type.startsWith('text/');
    const options = this.#options;
    this.#pool = new Pool(this.#origin, {
      connections: options.connections ?? 16,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
      headersTimeout: this.#headersTimeoutMs,
      bodyTimeout: options.bodyTimeoutMs ?? 30_000,
      connect: { ...options.tls, timeout: options.connectTimeoutMs ?? 5_000 },
    });
    return this.#endpoint;
  }

  async send(outgoing: OutgoingMessage): Promise<WireData | undefined> {
    const startedAt = Date.now();
    let response: BufferedResponse;
    try {
      response = await this.#request(outgoing);
    } catch (error) {
      // Aborted while the 202 may already be on its way: cancel the status it would name.
      if (this.#async !== undefined && outgoing.signal?.aborted === true) {
        const base = this.#path.split('?', 1)[0]!.replace(/\/$/, '');
        this.#cancelRemote(outgoing, `${base}/status/${encodeURIComponent(outgoing.message.id)}`);
      }
      throw error;
    }
    const location = response.headers.location;
    if (this.#async !== undefined && response.statusCode === 202 && typeof location === 'string') {
      return this.#awaitStatus(outgoing, location, startedAt);
    }
    if (response.headers[REPLY_HEADER] !== undefined) {
      return this.#textReplies ? response.body.toString('utf8') : response.body;
    }
    if (response.statusCode >= 200 && response.statusCode < 300) {
      if (outgoing.expectsReply) {
        throw new TransportError(`${this.#endpoint} answered "${outgoing.message.name}" without a reply`, {
          status: response.statusCode,
        });
      }
      return undefined;
    }
    throw this.#statusError(outgoing, response);
  }

  async close(drained: boolean): Promise<void> {
    const pool = this.#pool;
    if (pool === undefined) return;
    // Requests still running fail with this error, which rejects their dispatch.
    if (!drained) {
      this.#closing.abort(new ProducerClosedError('The producer closed before the answer arrived'));
      await pool.destroy(new ProducerClosedError('The producer closed before the answer arrived'));
    } else await pool.close();
  }

  /** POSTs the envelope, retrying what never reached a handler (connection failures, 503). */
  async #request(outgoing: OutgoingMessage): Promise<BufferedResponse> {
    const pool = this.#pool!;
    const { message, data, signal } = outgoing;
    const headersTimeout = Math.min(
      this.#headersTimeoutMs,
      outgoing.replyTimeoutMs ?? Number.POSITIVE_INFINITY,
    );
    for (let attempt = 0; ; attempt++) {
      let response: BufferedResponse;
      try {
        response = await bufferedRequest(
          pool,
          {
            path: this.#path,
            method: 'POST',
            // The trace context the instrumentation put in the envelope also goes out as headers.
            headers: withTraceHeaders(
              message.metadata,
              this.#headerFactory === undefined
                ? this.#staticHeaders
                : { ...this.#headerFactory({ message, body: data }), ...this.#staticHeaders },
            ),
            body: data,
            headersTimeout,
          },
          signal,
          postBodyLimit,
        );
      } catch (cause) {
        if (cause instanceof ProducerClosedError) throw cause;
        if (cause instanceof ResponseBodyError) {
          // The answer had started: the consumer saw the request, so it is not retried. (An abort
          // rejects with the signal's reason instead: cancelled on purpose, the bus reports why.)
          throw new TransportError(
            `Reading the answer to "${message.name}" from ${this.#endpoint} failed: ${cause.message}`,
            { cause: cause.cause, status: cause.status },
          );
        }
        if ((cause as { code?: unknown }).code === 'UND_ERR_HEADERS_TIMEOUT') {
          throw new TimeoutError(message.name, headersTimeout);
        }
        if (!this.#retryable(attempt, signal) || !isConnectionFailure(cause)) {
          const reason = errorMessage(cause);
          throw new TransportError(`POST "${message.name}" to ${this.#endpoint} failed: ${reason}`, {
            cause,
          });
        }
        await this.#backoff(attempt, undefined);
        continue;
      }
      // 503 without a reply: refused before any handler ran (shutting down, overloaded) — safe to retry.
      if (
        response.statusCode === 503 &&
        response.headers[REPLY_HEADER] === undefined &&
        this.#retryable(attempt, signal)
      ) {
        await this.#backoff(attempt, response.headers['retry-after']);
        continue;
      }
      return response;
    }
  }

  /**
   * Polls the status resource of a message accepted asynchronously until it settled, then hands
   * core the reply the synchronous path would have carried. Bounded by the query's reply timeout
   * or the command's deadline (else `headersTimeoutMs`); a timeout, abort or close stops polling and
   * cancels the remote handler (DELETE, best effort).
   */
  async #awaitStatus(
    outgoing: OutgoingMessage,
    location: string,
    startedAt: number,
  ): Promise<WireData | undefined> {
    const { message, signal } = outgoing;
    let url: URL;
    try {
      url = new URL(location, this.#endpoint);
    } catch (cause) {
      throw new TransportError(`${this.#endpoint} answered "${message.name}" with a bad Location`, { cause });
    }
    if (url.origin !== this.#origin) {
      throw new TransportError(
        `${this.#endpoint} sent the status of "${message.name}" to another origin (${url.origin}); refused`,
      );
    }
    const path = `${url.pathname}${url.search}`;
    const budget = outgoing.replyTimeoutMs ?? this.#headersTimeoutMs;
    const deadline = startedAt + budget;
    const stop = AbortSignal.any(
      signal === undefined ? [this.#closing.signal] : [signal, this.#closing.signal],
    );
    const settings = this.#async!;
    let interval = settings.pollIntervalMs;
    let failures = 0;
    try {
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(message.name, budget);
        await sleep(Math.min(interval, left), undefined, { signal: stop });
        interval = Math.min(settings.maxPollIntervalMs, interval * 2);
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new TimeoutError(message.name, budget);
        let response: BufferedResponse;
        try {
          response = await bufferedRequest(
            this.#pool!,
            {
              path,
              method: 'GET',
              headers: this.#statusHeaders(outgoing, 'GET'),
              headersTimeout: Math.min(this.#headersTimeoutMs, remaining),
            },
            stop,
            pollBodyLimit,
          );
        } catch (cause) {
          if (stop.aborted) throw cause;
          if (
            (cause as { code?: unknown }).code === 'UND_ERR_HEADERS_TIMEOUT' &&
            remaining < this.#headersTimeoutMs
          ) {
            throw new TimeoutError(message.name, budget);
          }
          if (isConnectionFailure(cause) && failures++ < this.#retries) continue;
          throw new TransportError(
            `Polling the status of "${message.name}" at ${url.origin}${url.pathname} failed: ${errorMessage(cause)}`,
            { cause },
          );
        }
        if (response.statusCode === 200) {
          const settled = this.#readStatus(outgoing, response.body.toString('utf8'));
          if (settled !== 'pending') return settled.data;
          failures = 0;
          continue;
        }
        // A proxy or a consumer that is draining: nothing is lost, poll again.
        if (
          (response.statusCode === 502 || response.statusCode === 503 || response.statusCode === 504) &&
          failures++ < this.#retries
        ) {
          continue;
        }
        throw this.#statusError(outgoing, response);
      }
    } catch (error) {
      // Nobody waits any more: fire the remote handler's signal, as a dropped request would.
      if (!(error instanceof TransportError) || error.status !== 404) this.#cancelRemote(outgoing, path);
      if (this.#closing.signal.aborted && !(error instanceof TimeoutError)) throw this.#closing.signal.reason;
      throw error;
    }
  }

  /** Reads a status document: `'pending'`, or the reply data core expects from a synchronous answer. */
  #readStatus(outgoing: OutgoingMessage, text: string): 'pending' | { data: WireData | undefined } {
    const { message } = outgoing;
    let status: { id?: unknown; state?: unknown; result?: unknown; error?: unknown };
    try {
      status = JSON.parse(text) as typeof status;
    } catch (cause) {
      throw new TransportError(`The status of "${message.name}" could not be read`, { cause, status: 200 });
    }
    if (
      typeof status !== 'object' ||
      status === null ||
      (status.id !== undefined && status.id !== message.id)
    ) {
      throw new TransportError(`The status of "${message.name}" is not a Switchyard status document`, {
        status: 200,
      });
    }
    const codec = this.#codec!;
    switch (status.state) {
      case 'pending':
        return 'pending';
      case 'handled':
        return {
          data: outgoing.expectsReply
            ? codec.encodeReply({ inReplyTo: message.id, ok: true, result: status.result })
            : undefined,
        };
      case 'failed':
        // Core decodes and checks the error like any reply: same codes, same remote details.
        return {
          data: codec.encodeReply({
            inReplyTo: message.id,
            ok: false,
            error: status.error as never,
          }),
        };
      default:
        throw new TransportError(`The status of "${message.name}" has an unknown state`, { status: 200 });
    }
  }

  /** Headers of a status request: auth (a factory signs the bytes of `"<METHOD> <id>"`), no content type. */
  #statusHeaders(outgoing: OutgoingMessage, method: 'GET' | 'DELETE'): Record<string, string> {
    const { 'content-type': _type, prefer: _prefer, ...fixed } = this.#staticHeaders;
    const signed =
      this.#headerFactory === undefined
        ? {}
        : this.#headerFactory({ message: outgoing.message, body: `${method} ${outgoing.message.id}` });
    return { ...signed, ...fixed, accept: 'application/json' };
  }

  /** Best effort: `DELETE` the status so the remote handler's signal fires; failures are only reported. */
  #cancelRemote(outgoing: OutgoingMessage, path: string): void {
    const pool = this.#pool;
    if (pool === undefined || pool.closed || pool.destroyed) return;
    bufferedRequest(
      pool,
      {
        path,
        method: 'DELETE',
        headers: this.#statusHeaders(outgoing, 'DELETE'),
        headersTimeout: Math.min(this.#headersTimeoutMs, 5_000),
      },
      undefined,
      deleteBodyLimit,
    ).catch((error: unknown) => {
      if (!(error instanceof ProducerClosedError)) this.#report?.(error, 'connection');
    });
  }

  #retryable(attempt: number, signal: AbortSignal | undefined): boolean {
    return attempt < this.#retries && signal?.aborted !== true;
  }

  async #backoff(attempt: number, retryAfter: string | string[] | undefined): Promise<void> {
    const exponential = Math.min(this.#retryMaxDelayMs, this.#retryDelayMs * 2 ** attempt);
    const asked = typeof retryAfter === 'string' ? Number(retryAfter) * 1_000 : Number.NaN;
    const delay = Number.isFinite(asked) ? Math.min(this.#retryMaxDelayMs, asked) : exponential;
    await sleep(delay * (0.5 + Math.random() / 2));
  }

  /** The error for an answer without a reply: refused before decoding (401, 413, 503, …) or not a Switchyard consumer. */
  #statusError(outgoing: OutgoingMessage, response: BufferedResponse): TransportError {
    const remote = decodeErrorBody(response.body.toString('utf8'));
    const detail = remote === undefined ? '' : `: ${remote.name}: ${remote.message}`;
    return new TransportError(
      `${this.#endpoint} answered HTTP ${response.statusCode} to "${outgoing.message.name}"${detail}`,
      { status: response.statusCode, remote },
    );
  }
}

interface AsyncPolling {
  readonly waitSeconds: number;
  readonly pollIntervalMs: number;
  readonly maxPollIntervalMs: number;
}

/** The checked `async` option. */
function asyncOptions(option: boolean | HttpProducerAsyncOptions | undefined): AsyncPolling | undefined {
  if (option === undefined || option === false) return undefined;
  const given = option === true ? {} : option;
  const waitSeconds = checkOption('HttpProducer', 'async.waitSeconds', given.waitSeconds, 0, 'count');
  const pollIntervalMs = checkOption(
    'HttpProducer',
    'async.pollIntervalMs',
    given.pollIntervalMs,
    100,
    'positive',
  );
  const maxPollIntervalMs = checkOption(
    'HttpProducer',
    'async.maxPollIntervalMs',
    given.maxPollIntervalMs,
    2_000,
    'positive',
  );
  if (maxPollIntervalMs < pollIntervalMs) {
    throw new ConfigurationError(
      `HttpProducer: async.maxPollIntervalMs (${maxPollIntervalMs}) is below async.pollIntervalMs (${pollIntervalMs})`,
    );
  }
  return { waitSeconds, pollIntervalMs, maxPollIntervalMs };
}
