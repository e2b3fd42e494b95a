import { createHmac } from 'node:crypto';
import { ConfigurationError } from '@switchyard/core';
import type { AuthHook, AuthRequest, AuthVerdict } from './auth-hook.ts';
import { constantTimeEqual } from './constant-time-equal.ts';
import type { HeadersFactory } from './headers-factory.ts';

/** Header carrying the signing time, in milliseconds since the Unix epoch. */
export const HMAC_TIMESTAMP_HEADER = 'x-switchyard-timestamp';
/** Header carrying `sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`. */
export const HMAC_SIGNATURE_HEADER = 'x-switchyard-signature';

/** Options of {@link hmacAuth}. */
export interface HmacAuthOptions {
  /**
   * How far the signed timestamp may be from the consumer's clock, either way, in ms. Bounds how
   * long a captured request can be replayed: the hook's `replayWindowMs` is twice this, and the
   * consumer's `dedupeWindowMs` must cover it (so a replayed command is answered from the
   * de-duplication window instead of running twice).
   * @default 30_000
   */
  readonly toleranceMs?: number;
  /** Clock, for tests. @default Date.now */
  readonly now?: () => number;
}

/** The signature of `body` at `timestamp`, as sent in {@link HMAC_SIGNATURE_HEADER}. */
export function hmacSignature(
  secret: string | Uint8Array,
  timestamp: string,
  body: string | Uint8Array,
): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
}

/**
 * Consumer-side auth hook: accepts a request whose body is signed with the shared `secret`
 * (HMAC-SHA256 over `"<timestamp>.<body>"`, see {@link hmacHeaders}). Missing headers → 401; a bad
 * signature or a timestamp outside `toleranceMs` → 403. Constant-time comparison.
 *
 * @example
 * const consumer = new HttpConsumer({ commandBus, auth: hmacAuth(process.env.BUS_SECRET!) });
 */
export function hmacAuth(secret: string | Uint8Array, options: HmacAuthOptions = {}): AuthHook {
  if (secret.length === 0) throw new ConfigurationError('hmacAuth needs a non-empty secret');
  const toleranceMs = options.toleranceMs ?? 30_000;
  if (!Number.isFinite(toleranceMs) || toleranceMs <= 0) {
    throw new ConfigurationError(`hmacAuth: toleranceMs must be a finite number > 0, got ${toleranceMs}`);
  }
  const now = options.now ?? Date.now;
  const hook = (request: AuthRequest): AuthVerdict => {
    const timestamp = request.headers[HMAC_TIMESTAMP_HEADER];
    const signature = request.headers[HMAC_SIGNATURE_HEADER];
    if (typeof timestamp !== 'string' || typeof signature !== 'string') return 'unauthenticated';
    if (!/^\d{1,16}$/.test(timestamp) || Math.abs(now() - Number(timestamp)) > toleranceMs) {
      return 'forbidden';
    }
    const expected = hmacSignature(secret, timestamp, request.body);
    return constantTimeEqual(signature, expected) ? 'allow' : 'forbidden';
  };
  return Object.assign(hook, { challenge: 'Switchyard-HMAC', replayWindowMs: 2 * toleranceMs });
}

/**
 * Producer-side counterpart of {@link hmacAuth}: signs every request body (and every retry, with
 * a fresh timestamp).
 *
 * @example
 * const producer = new HttpProducer({ url, headers: hmacHeaders(process.env.BUS_SECRET!) });
 */
export function hmacHeaders(secret: string | Uint8Array): HeadersFactory {
  if (secret.length === 0) throw new ConfigurationError('hmacHeaders needs a non-empty secret');
  return ({ body }) => {
    const timestamp = String(Date.now());
    return {
      [HMAC_TIMESTAMP_HEADER]: timestamp,
      [HMAC_SIGNATURE_HEADER]: hmacSignature(secret, timestamp, body),
    };
  };
}
