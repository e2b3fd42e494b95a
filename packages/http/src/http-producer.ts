import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConnectionOptions } from 'node:tls';
import {
  type AnyMessage,
  type Deferred,
  fulfilledWithin,
  JsonCodec,
  type MessageCodec,
  type MessageProducer,
  type ProducerCapabilities,
  ProducerClosedError,
  RemoteError,
  type Reply,
  TimeoutError,
  TransportError,
  type WireData,
} from '@switchyard/core';
import { Pool } from 'undici';
import { isConnectionFailure } from './connection-failure.ts';
import { decodeErrorBody } from './error-body.ts';
import type { HeadersFactory } from './headers-factory.ts';

/** Retries of requests that failed to connect (or whose connection dropped before the answer). */
export interface RetryOptions {
  /** Retries after the first attempt. @default 2 */
  readonly retries?: number | undefined;
  /** Delay before the first retry, doubled for each next one (with jitter). @default 100 */
  readonly delayMs?: number | undefined;
  /** Longest delay between two attempts. @default 2_000 */
  readonly maxDelayMs?: number | undefined;
}

/** Options of the {@link HttpProducer}. */
export interface HttpProducerOptions {
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
   * Time allowed for the answer's headers after the request was sent. The consumer answers after
   * the handler finished, so this bounds a command's handling time as seen by the producer.
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
   * Retry policy for connection failures only (refused, reset, connect timeout, socket closed).
   * Safe because the consumer de-duplicates by message id. A timeout or an error status is never
   * retried. `false` turns retries off.
   * @default { retries: 2, delayMs: 100, maxDelayMs: 2_000 }
   */
  readonly retry?: RetryOptions | false | undefined;
  /**
   * How long the consumer may take to answer a query once its request is sent (undici's headers
   * timeout for query requests: queries often take longer than commands). Past it the request is
   * cancelled and the query rejects with `SWITCHYARD_TIMEOUT`. A caller's own `timeoutMs` bounds the
   * whole dispatch, connection and retries included.
   * @default 30_000
   */
  readonly replyTimeoutMs?: number | undefined;
  /** `close()`: how long to let requests in flight finish before cancelling them. @default 10_000 */
  readonly closeTimeoutMs?: number | undefined;
  /** TLS options for an `https://` URL (CA, client certificate, servername, …). @default undefined */
  readonly tls?: Omit<ConnectionOptions, 'host' | 'port' | 'socket' | 'timeout'> | undefined;
  /** Wire format; the consumer must use the same. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

type ResponseData = Awaited<ReturnType<Pool['request']>>;

/** Error bodies are small; never buffer more than this of one. */
const MAX_ERROR_BODY = 64 * 1024;

/**
 * Sends messages to an {@link HttpConsumer} with undici (`Pool` + `request`, keep-alive). Commands
 * and events resolve when the consumer answered 2xx (after the remote handler ran); any other
 * answer or a network failure rejects with `SWITCHYARD_TRANSPORT_ERROR` (`status`, `remote`).
 * Queries resolve with the remote result or reject with `SWITCHYARD_REMOTE_ERROR`; a timed-out or
 * aborted query cancels its request.
 *
 * @example
 * const producer = new HttpProducer({ url: 'http://127.0.0.1:8080/', headers: bearerHeaders(token) });
 * router.route(RegisterUser).to(producer);
 * queryRouter.route(GetUser).to(producer);
 * // … at shutdown
 * await producer.close();
 */
export class HttpProducer implements MessageProducer {
  readonly capabilities: ProducerCapabilities = { replies: true, confirmsHandling: true, durable: false };
  readonly #pool: Pool;
  readonly #path: string;
  readonly #endpoint: string;
  readonly #codec: MessageCodec;
  readonly #replyTimeoutMs: number;
  readonly #closeTimeoutMs: number;
  readonly #staticHeaders: Readonly<Record<string, string>>;
  readonly #headerFactory: HeadersFactory | undefined;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #retryMaxDelayMs: number;
  readonly #textReplies: boolean;
  #closed = false;
  #closing: Promise<void> | undefined;
  #inFlight = 0;
  #queriesInFlight = 0;
  #idle: (() => void) | undefined;

  constructor(options: HttpProducerOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`HttpProducer needs an http: or https: URL, got ${url.protocol}`);
    }
    this.#endpoint = `${url.origin}${url.pathname}`;
    this.#path = `${url.pathname}${url.search}`;
    this.#codec = options.codec ?? new JsonCodec();
    this.#replyTimeoutMs = options.replyTimeoutMs ?? 30_000;
    this.#closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    const headers = options.headers;
    this.#headerFactory = typeof headers === 'function' ? headers : undefined;
    this.#staticHeaders = {
      ...(typeof headers === 'object' ? headers : {}),
      'content-type': this.#codec.contentType,
    };
    const retry = options.retry === false ? { retries: 0 } : (options.retry ?? {});
    this.#retries = retry.retries ?? 2;
    this.#retryDelayMs = retry.delayMs ?? 100;
    this.#retryMaxDelayMs = retry.maxDelayMs ?? 2_000;
    const type = this.#codec.contentType.toLowerCase();
    this.#textReplies = type.includes('json') || type.startsWith('text/');
    this.#pool = new Pool(url.origin, {
      connections: options.connections ?? 16,
      keepAliveTimeout: options.keepAliveTimeoutMs ?? 4_000,
      headersTimeout: options.headersTimeoutMs ?? 30_000,
      bodyTimeout: options.bodyTimeoutMs ?? 30_000,
      connect: { ...options.tls, timeout: options.connectTimeoutMs ?? 5_000 },
    });
  }

  /** Queries waiting for their reply. */
  get pendingReplies(): number {
    return this.#queriesInFlight;
  }

  produce(message: AnyMessage, deferred?: Deferred<unknown>): Promise<void> {
    if (this.#closed) return Promise.reject(new ProducerClosedError());
    let body: WireData;
    try {
      body = this.#codec.encode(message);
    } catch (error) {
      return Promise.reject(error);
    }
    this.#inFlight++;
    if (deferred !== undefined && message.kind === 'query') {
      if (deferred.settled) {
        this.#done();
        return Promise.resolve();
      }
      this.#queriesInFlight++;
      // #query never rejects: every failure rejects the deferred instead.
      return this.#query(message, body, deferred).then(this.#queryDone);
    }
    return this.#send(message, body).then(this.#done, this.#failed);
  }

  readonly #done = (): void => {
    this.#inFlight--;
    if (this.#inFlight === 0 && this.#idle !== undefined) {
      this.#idle();
      this.#idle = undefined;
    }
  };

  readonly #queryDone = (): void => {
    this.#queriesInFlight--;
    this.#done();
  };

  readonly #failed = (error: unknown): never => {
    this.#done();
    throw error;
  };

  /**
   * Refuses new messages, lets requests in flight finish (up to `closeTimeoutMs`; then cancels
   * them and rejects their queries with `SWITCHYARD_PRODUCER_CLOSED`) and closes the connections.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    if (this.#inFlight > 0) {
      const idle = new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
      if (!(await fulfilledWithin(idle, this.#closeTimeoutMs))) {
        const error = new ProducerClosedError('The producer closed before the answer arrived');
        // Every request still in flight fails with `error`, which rejects its query or command.
        await this.#pool.destroy(error);
        return;
      }
    }
    await this.#pool.close();
  }

  async #send(message: AnyMessage, body: WireData): Promise<void> {
    const response = await this.#request(message, body, undefined, undefined);
    if (response.statusCode >= 200 && response.statusCode < 300) {
      await response.body.dump();
      return;
    }
    const text = await readBounded(response);
    throw this.#statusError(message, response.statusCode, text);
  }

  async #query(message: AnyMessage, body: WireData, deferred: Deferred<unknown>): Promise<void> {
    // Cancel the request when the query settles first (timeout, abort, close). undici accepts an
    // EventEmitter as its signal. `deferred.signal` would work too, but the Deferred aborts it on
    // every settle, success included, and each abort builds a DOMException with a stack trace:
    // that alone was ~13% of a query's CPU in the bench profile.
    // Once the body is read there is nothing left to cancel (and undici would build an error).
    // Only a raceable deferred (a caller timeout or signal) can settle while the request runs.
    let received = false;
    let cancel: EventEmitter | undefined;
    if (deferred.raceable) {
      const emitter = new EventEmitter();
      deferred.onSettled(() => {
        if (!received) emitter.emit('abort');
      });
      cancel = emitter;
    }
    try {
      const response = await this.#request(message, body, cancel, deferred);
      let data: WireData;
      try {
        data = this.#textReplies
          ? await response.body.text()
          : new Uint8Array(await response.body.arrayBuffer());
        received = true;
      } catch (cause) {
        if (deferred.settled) return; // timed out or aborted: the request was cancelled on purpose
        throw new TransportError(`Reading the reply to "${message.name}" from ${this.#endpoint} failed`, {
          cause,
          status: response.statusCode,
        });
      }
      let reply: Reply;
      try {
        reply = this.#codec.decodeReply(data);
      } catch (cause) {
        // No reply envelope: refused before decoding (401, 413, 503, …) or not a Switchyard consumer.
        throw this.#statusError(
          message,
          response.statusCode,
          typeof data === 'string' ? data.slice(0, MAX_ERROR_BODY) : '',
          cause,
        );
      }
      if (reply.inReplyTo !== message.id) {
        throw new TransportError(
          `${this.#endpoint} answered "${message.name}" with a reply to another message (${reply.inReplyTo})`,
          { status: response.statusCode },
        );
      }
      if (reply.ok) deferred.resolve(reply.result);
      else deferred.reject(new RemoteError(reply.error));
    } catch (error) {
      deferred.reject(error);
    }
  }

  /**
   * POSTs the body, retrying connection failures (not once `deferred` settled). A query's request
   * waits at most `replyTimeoutMs` for its answer (`TimeoutError`); a close that gave up waiting
   * rejects with `ProducerClosedError`; every other failure becomes a `TransportError`. `cancel`
   * emitting `abort` cancels the request.
   */
  async #request(
    message: AnyMessage,
    body: WireData,
    cancel: EventEmitter | undefined,
    deferred: Deferred<unknown> | undefined,
  ): Promise<ResponseData> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#pool.request({
          path: this.#path,
          method: 'POST',
          headers:
            this.#headerFactory === undefined
              ? this.#staticHeaders
              : { ...this.#headerFactory({ message, body }), ...this.#staticHeaders },
          body,
          signal: cancel ?? null,
          headersTimeout: deferred === undefined ? null : this.#replyTimeoutMs,
        });
      } catch (cause) {
        if (cause instanceof ProducerClosedError) throw cause;
        if (deferred !== undefined && (cause as { code?: unknown }).code === 'UND_ERR_HEADERS_TIMEOUT') {
          throw new TimeoutError(message.name, this.#replyTimeoutMs);
        }
        const retry = attempt < this.#retries && isConnectionFailure(cause) && !isSettled(deferred);
        if (!retry) {
          const reason = cause instanceof Error ? cause.message : String(cause);
          throw new TransportError(`POST "${message.name}" to ${this.#endpoint} failed: ${reason}`, {
            cause,
          });
        }
        const backoff = Math.min(this.#retryMaxDelayMs, this.#retryDelayMs * 2 ** attempt);
        await sleep(backoff * (0.5 + Math.random() / 2));
        if (isSettled(deferred)) {
          throw new TransportError(`"${message.name}" settled while its request was waiting to be retried`);
        }
      }
    }
  }

  #statusError(message: AnyMessage, status: number, text: string, cause?: unknown): TransportError {
    const remote = decodeErrorBody(text);
    const detail = remote === undefined ? '' : `: ${remote.name}: ${remote.message}`;
    return new TransportError(`${this.#endpoint} answered HTTP ${status} to "${message.name}"${detail}`, {
      status,
      remote,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/** True once a query's deferred settled (a caller timeout, abort or close got there first). */
function isSettled(deferred: Deferred<unknown> | undefined): boolean {
  return deferred?.settled === true;
}

/** Reads at most {@link MAX_ERROR_BODY} of a response as text, destroying the rest. */
async function readBounded(response: ResponseData): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size >= MAX_ERROR_BODY) {
        response.body.destroy();
        break;
      }
    }
  } catch {
    // A broken error body still leaves the status to report.
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, MAX_ERROR_BODY);
}
