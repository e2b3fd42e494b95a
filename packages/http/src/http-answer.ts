import type { ServerResponse } from 'node:http';
import type { RemoteErrorInfo, WireData } from '@switchyard/core';
import { encodeErrorBody } from './error-body.ts';

/**
 * The header a consumer sets when the body is a reply envelope (`{ v, inReplyTo, ok, … }`), for a
 * query or for a command that failed after it was decoded. A body without it is an `{ error }` body
 * of a request refused before decoding (auth, size, method, shutdown).
 */
export const REPLY_HEADER = 'x-switchyard-reply';

/** One HTTP answer, before it is written. */
export interface Answer {
  readonly status: number;
  readonly body: WireData | undefined;
  readonly contentType: string | undefined;
  /** Extra headers (`allow`, `retry-after`, `www-authenticate`, the reply marker). */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** End the connection after the answer (the body may be left unread). */
  readonly close?: boolean | undefined;
}

/** 202, empty: a command or event was handled. */
export const ACCEPTED: Answer = Object.freeze({ status: 202, body: undefined, contentType: undefined });

const JSON_TYPE = 'application/json';
const REPLY_MARK = Object.freeze({ [REPLY_HEADER]: '1' });

/** An `{ error }` answer (always JSON, whatever the codec). */
export function errorAnswer(
  status: number,
  error: RemoteErrorInfo,
  options: { headers?: Readonly<Record<string, string>>; close?: boolean } = {},
): Answer {
  return { status, body: encodeErrorBody(error), contentType: JSON_TYPE, ...options };
}

/** A reply envelope answer, marked with {@link REPLY_HEADER}. */
export function replyAnswer(status: number, body: WireData, contentType: string): Answer {
  return { status, body, contentType, headers: REPLY_MARK };
}

/** Writes an answer, once; `closing` adds `Connection: close` (the consumer is shutting down). */
export function writeAnswer(response: ServerResponse, answer: Answer, closing: boolean): void {
  if (response.headersSent || response.destroyed) return;
  if (answer.headers === REPLY_MARK && answer.close !== true && !closing && answer.body !== undefined) {
    // A reply, the common case: one object literal of a fixed shape, nothing copied.
    // A flat [name, value, …] array: node reads it with a counted loop instead of `for…in`.
    response.writeHead(answer.status, [
      REPLY_HEADER,
      '1',
      'content-type',
      answer.contentType ?? JSON_TYPE,
      'content-length',
      String(Buffer.byteLength(answer.body)),
    ]);
    response.end(answer.body);
    return;
  }
  const headers: Record<string, string> = { ...answer.headers };
  if (answer.close === true || closing) headers.connection = 'close';
  if (answer.body === undefined) {
    headers['content-length'] = '0';
    response.writeHead(answer.status, headers);
    response.end();
    return;
  }
  headers['content-type'] = answer.contentType ?? JSON_TYPE;
  headers['content-length'] = String(Buffer.byteLength(answer.body));
  response.writeHead(answer.status, headers);
  response.end(answer.body);
}
