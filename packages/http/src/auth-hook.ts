import type { IncomingHttpHeaders } from 'node:http';

/**
 * What an {@link AuthHook} decides: `allow` lets the message through, `unauthenticated` answers
 * 401 (no or unreadable credentials), `forbidden` answers 403 (credentials given but wrong).
 */
export type AuthVerdict = 'allow' | 'unauthenticated' | 'forbidden';

/** The request an {@link AuthHook} judges, after its body was read (and bounded by the body limit). */
export interface AuthRequest {
  /** The HTTP method: `POST` for a message; `GET` or `DELETE` for a status resource (`async`). */
  readonly method: string;
  /** The request URL as received (path and query). */
  readonly url: string;
  /** The request headers, names in lower case. */
  readonly headers: IncomingHttpHeaders;
  /**
   * The raw body, e.g. to check an HMAC signature over it. For a status request (`GET`/`DELETE` of
   * `…/status/<id>`, which has no body): the UTF-8 bytes of `"<METHOD> <id>"`, so a signature binds
   * the request to that one status.
   */
  readonly body: Uint8Array;
}

/**
 * Decides whether a request may reach the buses. Runs before the envelope is decoded. A hook that
 * throws answers 500 and is reported to `onError`. Ready-made hooks: `bearerAuth`, `hmacAuth`.
 *
 * Two optional properties tell the consumer more:
 * - `challenge`: the `WWW-Authenticate` value of its 401 answers (`bearerAuth`: `Bearer`); without
 *   one, 401 answers carry no such header.
 * - `replayWindowMs`: how long a captured request stays acceptable (`hmacAuth`: twice its
 *   tolerance). The consumer refuses to start with a de-duplication window shorter than that, since a
 *   replayed command would then run twice.
 *
 * @example
 * const auth: AuthHook = (request) =>
 *   request.headers['x-api-key'] === undefined ? 'unauthenticated' : 'allow';
 */
export interface AuthHook {
  (request: AuthRequest): AuthVerdict | Promise<AuthVerdict>;
  readonly challenge?: string | undefined;
  readonly replayWindowMs?: number | undefined;
}
