import type { IncomingMessage } from 'node:http';
import { type Answer, errorAnswer } from './http-answer.ts';

/**
 * One check a request passes before its body is read: `undefined` lets it through, an answer
 * refuses it (and closes the connection: the body is left unread).
 */
export type RequestCheck = (request: IncomingMessage) => Answer | undefined;

/** 405 for anything but POST. */
export const postOnly: RequestCheck = (request) =>
  request.method === 'POST'
    ? undefined
    : errorAnswer(
        405,
        { name: 'MethodNotAllowed', message: 'Send messages with POST', code: undefined },
        { headers: { allow: 'POST' }, close: true },
      );

/** 415 unless the content type (parameters aside) is `contentType`. */
export function contentTypeIs(contentType: string): RequestCheck {
  const expected = contentType.toLowerCase();
  return (request) => {
    const header = request.headers['content-type'];
    if (header === expected) return undefined; // what every producer sends: nothing to parse
    if (header !== undefined) {
      const semicolon = header.indexOf(';');
      const type = (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
      if (type === expected) return undefined;
    }
    return errorAnswer(
      415,
      { name: 'UnsupportedMediaType', message: `Content-Type must be ${expected}`, code: undefined },
      { close: true },
    );
  };
}

/** 413 for a declared `Content-Length` over the limit, before a byte of the body is read. */
export function declaredLengthAtMost(limitBytes: number): RequestCheck {
  return (request) =>
    Number(request.headers['content-length']) > limitBytes ? tooLarge(limitBytes) : undefined;
}

/** The 413 answer. */
export function tooLarge(limitBytes: number): Answer {
  return errorAnswer(
    413,
    {
      name: 'PayloadTooLargeError',
      message: `Body exceeds the limit of ${limitBytes} bytes`,
      code: 'SWITCHYARD_PAYLOAD_TOO_LARGE',
    },
    { close: true },
  );
}

/** 503 + `Retry-After`: refused before any handler ran, so the producer may retry. */
export function unavailable(message: string): Answer {
  return errorAnswer(
    503,
    { name: 'ServiceUnavailable', message, code: undefined },
    { headers: { 'retry-after': '1' }, close: true },
  );
}

/** Runs `checks` in order; the first refusal wins. */
export function firstRefusal(checks: readonly RequestCheck[], request: IncomingMessage): Answer | undefined {
  for (const check of checks) {
    const answer = check(request);
    if (answer !== undefined) return answer;
  }
  return undefined;
}
