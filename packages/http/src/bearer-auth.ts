import { ConfigurationError } from '@switchyard/core';
import type { AuthHook, AuthRequest, AuthVerdict } from './auth-hook.ts';
import { constantTimeEqual } from './constant-time-equal.ts';

/**
 * Consumer-side auth hook: accepts `Authorization: Bearer <token>` when the token equals one of
 * `tokens` (several allow rotation). Missing or malformed header → 401, wrong token → 403. The
 * comparison is constant-time, also for tokens of another length.
 *
 * @example
 * const consumer = new HttpConsumer({ commandBus, auth: bearerAuth(process.env.BUS_TOKEN!) });
 */
export function bearerAuth(tokens: string | readonly string[]): AuthHook {
  const accepted = typeof tokens === 'string' ? [tokens] : [...tokens];
  if (accepted.length === 0 || accepted.some((token) => token.length === 0)) {
    throw new ConfigurationError('bearerAuth needs at least one non-empty token');
  }
  const hook = (request: AuthRequest): AuthVerdict => {
    const header = request.headers.authorization;
    if (typeof header !== 'string') return 'unauthenticated';
    const match = /^Bearer +(\S+) *$/i.exec(header);
    if (match === null) return 'unauthenticated';
    const given = match[1] ?? '';
    let ok = false;
    // Compare with every token, without stopping early, so the position of a match does not show.
    for (const token of accepted) ok = constantTimeEqual(given, token) || ok;
    return ok ? 'allow' : 'forbidden';
  };
  return Object.assign(hook, { challenge: 'Bearer' });
}

/**
 * Producer-side counterpart of {@link bearerAuth}: the headers to send.
 *
 * @example
 * const producer = new HttpProducer({ url, headers: bearerHeaders(process.env.BUS_TOKEN!) });
 */
export function bearerHeaders(token: string): Readonly<Record<string, string>> {
  return { authorization: `Bearer ${token}` };
}
