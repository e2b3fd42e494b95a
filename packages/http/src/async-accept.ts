import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigurationError, checkOption, errorMessage, TransportError } from '@switchyard/core';
import { type Agent, request } from 'undici';
import { CALLBACK_SIGNATURE_HEADER, signCallback } from './callback-signature.ts';
import { isConnectionFailure } from './connection-failure.ts';
import { decodeErrorBody } from './error-body.ts';
import { type Answer, REPLY_HEADER } from './http-answer.ts';

/** The `Prefer` token that asks for an asynchronous answer (RFC 7240). */
export const RESPOND_ASYNC = 'respond-async';

/** Options of the consumer's asynchronous mode (`HttpConsumerOptions.async`). */
export interface HttpConsumerAsyncOptions {
  /**
   * How long the outcome of a message accepted asynchronously stays readable at its status
   * resource once it settled; past it, `GET …/status/<id>` answers 404. It is also how long a
   * retried POST of the same message id is answered from the status instead of running again, so it
   * must cover the auth hook's `replayWindowMs`, else the constructor throws `ConfigurationError`.
   * @default 600_000 (10 min)
   */
  readonly statusTtlMs?: number | undefined;
  /**
   * Most statuses kept, pending and settled; the oldest settled ones are forgotten first. When every
   * kept status is pending, a new asynchronous request is answered 503 + `Retry-After`.
   * @default 10_000
   */
  readonly maxStatuses?: number | undefined;
  /**
   * Secret that signs callbacks (`x-switchyard-callback-signature`, see `verifyCallbackSignature`).
   * Without it, a request carrying `x-switchyard-callback` is refused with 400.
   * @default undefined — callbacks are refused
   */
  readonly callbackSecret?: string | Uint8Array | undefined;
  /**
   * Hosts a callback may be sent to (`url.host`, e.g. `'hooks.example.com'` or
   * `'127.0.0.1:8443'`, or `url.hostname`), compared case-insensitively. A callback URL makes the
   * consumer send a request wherever the caller says (server-side request forgery): required with
   * `callbackSecret`; `'any'` accepts every host, on purpose.
   * @default undefined — required when `callbackSecret` is set
   */
  readonly callbackHosts?: readonly string[] | 'any' | undefined;
  /** Time allowed for one callback POST (connect to answer). @default 5_000 */
  readonly callbackTimeoutMs?: number | undefined;
  /** Retries of a callback that failed (connection failure, timeout, 408, 429, 5xx). @default 3 */
  readonly callbackRetries?: number | undefined;
  /** Delay before the first callback retry, doubled for each next one. @default 500 */
  readonly callbackRetryDelayMs?: number | undefined;
}

/** The checked asynchronous-mode settings. */
export interface AsyncSettings {
  readonly statusTtlMs: number;
  readonly maxStatuses: number;
  readonly callbackSecret: string | Uint8Array | undefined;
  readonly callbackHosts: ReadonlySet<string> | 'any';
  readonly callbackTimeoutMs: number;
  readonly callbackRetries: number;
  readonly callbackRetryDelayMs: number;
}

/** Checks `options.async`; throws `ConfigurationError` for a bad value. */
export function asyncSettings(
  options: HttpConsumerAsyncOptions | boolean | undefined,
  contentType: string,
  replayWindowMs: number,
): AsyncSettings | undefined {
  if (options === undefined || options === false) return undefined;
  const given = options === true ? {} : options;
  const component = 'HttpConsumer';
  if (!contentType.includes('json')) {
    throw new ConfigurationError(
      `${component}: async needs a JSON codec (the status document is JSON), got ${contentType}`,
    );
  }
  const statusTtlMs = checkOption(component, 'async.statusTtlMs', given.statusTtlMs, 600_000, 'positive');
  if (statusTtlMs < replayWindowMs) {
    throw new ConfigurationError(
      `${component}: async.statusTtlMs (${statusTtlMs}) is shorter than the auth hook's replay window (${replayWindowMs} ms): a replayed signed command would run twice. Raise statusTtlMs or lower the hook's tolerance.`,
    );
  }
  const secret = given.callbackSecret;
  if (secret !== undefined && secret.length === 0) {
    throw new ConfigurationError(`${component}: async.callbackSecret must not be empty`);
  }
  const hosts = given.callbackHosts;
  if (secret !== undefined && hosts === undefined) {
    throw new ConfigurationError(
      `${component}: async.callbackSecret lets callers make this consumer POST to a URL of their choice; name the hosts it may call with async.callbackHosts: ['hooks.example.com'], or callbackHosts: 'any' to allow every host, on purpose`,
    );
  }
  return {
    statusTtlMs,
    maxStatuses: checkOption(component, 'async.maxStatuses', given.maxStatuses, 10_000, 'whole'),
    callbackSecret: secret,
    callbackHosts: hosts === 'any' ? 'any' : new Set((hosts ?? []).map((host) => host.toLowerCase())),
    callbackTimeoutMs: checkOption(
      component,
      'async.callbackTimeoutMs',
      given.callbackTimeoutMs,
      5_000,
      'positive',
    ),
    callbackRetries: checkOption(component, 'async.callbackRetries', given.callbackRetries, 3, 'count'),
    callbackRetryDelayMs: checkOption(
      component,
      'async.callbackRetryDelayMs',
      given.callbackRetryDelayMs,
      500,
      'non-negative',
    ),
  };
}

/** What a request's `Prefer` header asks (RFC 7240): `respond-async`, and `wait` in seconds. */
export interface Preferences {
  readonly respondAsync: boolean;
  readonly waitSeconds: number | undefined;
}

/** Reads `Prefer: respond-async, wait=10` (names case-insensitive, parameters after `;` ignored). */
export function readPreferences(header: string | string[] | undefined): Preferences {
  if (header === undefined) return { respondAsync: false, waitSeconds: undefined };
  let respondAsync = false;
  let waitSeconds: number | undefined;
  for (const part of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const token = (part.split(';', 1)[0] ?? '').trim();
    const equals = token.indexOf('=');
    const name = (equals === -1 ? token : token.slice(0, equals)).trim().toLowerCase();
    if (name === RESPOND_ASYNC) respondAsync = true;
    else if (name === 'wait' && equals !== -1) {
      const value = token
        .slice(equals + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1');
      if (/^\d{1,6}$/.test(value)) waitSeconds = Number(value);
    }
  }
  return { respondAsync, waitSeconds };
}

/** The path of the status resource of `id` under the path the request was sent to. */
export function statusLocation(request: IncomingMessage, id: string): string {
  const path = requestPath(request);
  return `${path.endsWith('/') ? path.slice(0, -1) : path}/status/${encodeURIComponent(id)}`;
}

/** The request path without its query: `originalUrl` when mounted under an Express prefix. */
export function requestPath(request: IncomingMessage): string {
  const url = (request as { originalUrl?: unknown }).originalUrl;
  const raw = typeof url === 'string' ? url : (request.url ?? '/');
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
}

/** The message id of a status request (`…/status/<id>`), or `undefined` for any other path. */
export function statusIdOf(request: IncomingMessage): string | undefined {
  const match = /\/status\/([^/]+)$/.exec(requestPath(request));
  if (match === null) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
}

/** A callback URL a caller may ask for, or the reason it may not. */
export function checkCallbackUrl(value: string, settings: AsyncSettings): URL | string {
  if (settings.callbackSecret === undefined) {
    return 'This consumer sends no callbacks (no async.callbackSecret is configured)';
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'The callback must be an absolute http: or https: URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return 'The callback must be an absolute http: or https: URL';
  }
  if (url.username !== '' || url.password !== '') return 'The callback URL must not carry credentials';
  const hosts = settings.callbackHosts;
  if (hosts !== 'any' && !hosts.has(url.host.toLowerCase()) && !hosts.has(url.hostname.toLowerCase())) {
    return `Callbacks to ${url.host} are not allowed (async.callbackHosts)`;
  }
  return url;
}

/**
 * The JSON status document of a settled message, built from the answer the synchronous path gives
 * (so the result and the error are exactly what a synchronous caller gets):
 * `{ id, state: 'handled' }`, `{ id, state: 'handled', result }` or
 * `{ id, state: 'failed', status, error: { name, message, code, issues? } }`.
 */
export function statusDocument(
  id: string,
  answer: Answer,
): { state: 'handled' | 'failed'; document: string } {
  if (answer.body === undefined)
    return { state: 'handled', document: JSON.stringify({ id, state: 'handled' }) };
  const text = typeof answer.body === 'string' ? answer.body : Buffer.from(answer.body).toString('utf8');
  if (answer.headers?.[REPLY_HEADER] !== undefined) {
    const envelope = JSON.parse(text) as { ok?: unknown; result?: unknown; error?: unknown };
    if (envelope.ok === true) {
      return {
        state: 'handled',
        document: JSON.stringify({ id, state: 'handled', result: envelope.result }),
      };
    }
    return {
      state: 'failed',
      document: JSON.stringify({ id, state: 'failed', status: answer.status, error: envelope.error }),
    };
  }
  const error = decodeErrorBody(text) ?? { name: 'Error', message: text, code: undefined };
  return { state: 'failed', document: JSON.stringify({ id, state: 'failed', status: answer.status, error }) };
}

/**
 * POSTs a settled status document to `url`, signed; retries connection failures, timeouts, 408,
 * 429 and 5xx up to `callbackRetries` times. Resolves when delivered; rejects with a
 * `TransportError` when it gave up (the caller reports it).
 */
export async function deliverCallback(
  url: URL,
  document: string,
  settings: AsyncSettings,
  dispatcher: Agent,
  signal: AbortSignal,
  messageId: string,
): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    let failure: unknown;
    let status: number | undefined;
    try {
      const response = await request(url, {
        method: 'POST',
        dispatcher,
        headers: {
          'content-type': 'application/json',
          'x-switchyard-message-id': messageId,
          [CALLBACK_SIGNATURE_HEADER]: signCallback(settings.callbackSecret!, document),
        },
        body: document,
        headersTimeout: settings.callbackTimeoutMs,
        bodyTimeout: settings.callbackTimeoutMs,
        signal: AbortSignal.any([signal, AbortSignal.timeout(settings.callbackTimeoutMs)]),
      });
      await response.body.dump();
      status = response.statusCode;
      if (status >= 200 && status < 300) return;
    } catch (error) {
      failure = error;
    }
    const retryable =
      status === undefined
        ? !signal.aborted && (isConnectionFailure(failure) || isTimeout(failure))
        : status === 408 || status === 429 || status >= 500;
    if (!retryable || attempt >= settings.callbackRetries) {
      const reason = status === undefined ? errorMessage(failure) : `HTTP ${status}`;
      throw new TransportError(
        `The callback of "${messageId}" to ${url.origin}${url.pathname} failed after ${attempt + 1} attempt(s): ${reason}`,
        { cause: failure, status },
      );
    }
    await sleep(settings.callbackRetryDelayMs * 2 ** attempt, undefined, { signal }).catch(() => undefined);
    if (signal.aborted)
      throw new TransportError(`The callback of "${messageId}" was cancelled: the consumer closed`);
  }
}

function isTimeout(error: unknown): boolean {
  const code = (error as { code?: unknown; name?: unknown } | undefined)?.code;
  const name = (error as { name?: unknown } | undefined)?.name;
  return (
    code === 'UND_ERR_HEADERS_TIMEOUT' ||
    code === 'UND_ERR_BODY_TIMEOUT' ||
    name === 'TimeoutError' ||
    name === 'AbortError'
  );
}
