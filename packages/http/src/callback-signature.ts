import { createHmac } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { ConfigurationError, ErrorCode, SwitchyardError } from '@switchyard/core';
import { constantTimeEqual } from './constant-time-equal.ts';

/** Request header carrying the URL the consumer POSTs the outcome of an asynchronous request to. */
export const CALLBACK_HEADER = 'x-switchyard-callback';
/**
 * Header of a callback POST: `t=<unix ms>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, signed with the
 * consumer's `async.callbackSecret`. Check it with {@link verifyCallbackSignature}.
 */
export const CALLBACK_SIGNATURE_HEADER = 'x-switchyard-callback-signature';

/** Why {@link verifyCallbackSignature} refused a callback. */
export type CallbackSignatureFailure = 'missing' | 'malformed' | 'expired' | 'mismatch';

/**
 * A callback whose signature is missing, malformed, too old (or from the future) or wrong. Its
 * `code` is `SWITCHYARD_UNAUTHORIZED`; `reason` says which. Answer such a callback 401 and drop it.
 */
export class CallbackSignatureError extends SwitchyardError {
  override readonly name = 'CallbackSignatureError';
  readonly reason: CallbackSignatureFailure;
  constructor(reason: CallbackSignatureFailure, message: string) {
    super(ErrorCode.Unauthorized, message);
    this.reason = reason;
  }
}

/** Options of {@link verifyCallbackSignature}. */
export interface VerifyCallbackOptions {
  /**
   * How far the signed timestamp may be from this clock, either way, in ms: bounds how long a
   * captured callback can be replayed. Keep a record of the ids you processed to refuse a replay
   * within it.
   * @default 300_000 (5 min)
   */
  readonly toleranceMs?: number | undefined;
  /** Clock, for tests. @default Date.now */
  readonly now?: (() => number) | undefined;
}

/** The hex HMAC-SHA256 of `"<timestamp>.<body>"`. */
function digest(secret: string | Uint8Array, timestamp: string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/** The value of {@link CALLBACK_SIGNATURE_HEADER} for `body`, signed now (or at `timestamp`). */
export function signCallback(
  secret: string | Uint8Array,
  body: string | Uint8Array,
  timestamp: number = Date.now(),
): string {
  const t = String(Math.trunc(timestamp));
  return `t=${t},v1=${digest(secret, t, body)}`;
}

/**
 * Checks the signature of a callback the {@link HttpConsumer} POSTed to your endpoint: `headers` as
 * received (a `node:http` headers object, a Fetch `Headers`, or a plain record) and the raw body,
 * exactly as received (verify before parsing it). Throws {@link CallbackSignatureError}
 * (`SWITCHYARD_UNAUTHORIZED`) for a missing, malformed, expired or wrong signature; compares in
 * constant time.
 *
 * @example
 * const body = await readRawBody(req);
 * verifyCallbackSignature(process.env.CALLBACK_SECRET!, req.headers, body);
 * const outcome = JSON.parse(body); // { id, state: 'handled', result } or { id, state: 'failed', status, error }
 */
export function verifyCallbackSignature(
  secret: string | Uint8Array,
  headers: IncomingHttpHeaders | Headers | Readonly<Record<string, string | string[] | undefined>>,
  body: string | Uint8Array,
  options: VerifyCallbackOptions = {},
): void {
  if (secret.length === 0) throw new ConfigurationError('verifyCallbackSignature needs a non-empty secret');
  const toleranceMs = options.toleranceMs ?? 300_000;
  if (!Number.isFinite(toleranceMs) || toleranceMs <= 0) {
    throw new ConfigurationError(
      `verifyCallbackSignature: toleranceMs must be a finite number > 0, got ${toleranceMs}`,
    );
  }
  const header = headerValue(headers, CALLBACK_SIGNATURE_HEADER);
  if (header === undefined || header.length === 0) {
    throw new CallbackSignatureError('missing', `The ${CALLBACK_SIGNATURE_HEADER} header is missing`);
  }
  const match = /^t=(\d{1,16}),v1=([0-9a-f]{64})$/.exec(header.trim());
  if (match === null) {
    throw new CallbackSignatureError('malformed', `The ${CALLBACK_SIGNATURE_HEADER} header is malformed`);
  }
  const [, timestamp, signature] = match as unknown as [string, string, string];
  const now = (options.now ?? Date.now)();
  if (Math.abs(now - Number(timestamp)) > toleranceMs) {
    throw new CallbackSignatureError(
      'expired',
      `The callback was signed ${Math.round((now - Number(timestamp)) / 1000)} s away from now, more than the ${toleranceMs} ms tolerated`,
    );
  }
  if (!constantTimeEqual(signature, digest(secret, timestamp, body))) {
    throw new CallbackSignatureError('mismatch', 'The callback signature does not match its body');
  }
}

function headerValue(
  headers: IncomingHttpHeaders | Headers | Readonly<Record<string, string | string[] | undefined>>,
  name: string,
): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Readonly<Record<string, string | string[] | undefined>>;
  let value = record[name];
  if (value === undefined) {
    const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
    value = key === undefined ? undefined : record[key];
  }
  return Array.isArray(value) ? value[0] : value;
}
