import type { IncomingMessage } from 'node:http';
import type { BodyDeadlines } from './body-deadlines.ts';

/** The body, or why it could not be read. */
export type BodyRead = Buffer | 'too-large' | 'timeout' | 'aborted' | 'consumed';

/**
 * Reads a request body into one buffer, stopping at `limitBytes` (→ `too-large`), at its deadline
 * in `deadlines` without the whole body (→ `timeout`, slow senders), or when the client goes away.
 * A body already read by a framework (`req.body` as a Buffer or string, e.g. `express.raw()`) is
 * used as is; a stream some other middleware already drained (e.g. `express.json()`) is `consumed`.
 */
export function readBody(
  request: IncomingMessage,
  limitBytes: number,
  deadlines: BodyDeadlines,
): Promise<BodyRead> {
  const preRead = (request as { body?: unknown }).body;
  if (Buffer.isBuffer(preRead)) {
    return Promise.resolve(preRead.byteLength > limitBytes ? 'too-large' : preRead);
  }
  if (typeof preRead === 'string') {
    const buffer = Buffer.from(preRead, 'utf8');
    return Promise.resolve(buffer.byteLength > limitBytes ? 'too-large' : buffer);
  }
  if (request.readableEnded) return Promise.resolve('consumed');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (result: BodyRead): void => {
      if (done) return;
      done = true;
      deadline.cancel();
      // A body read whole leaves the listeners on the ended stream (each is a no-op once done, and
      // taking four off costs more per request than the read); a failed read stops listening.
      if (typeof result === 'string') {
        request.off('data', onData);
        request.off('end', onEnd);
        request.off('error', onAbort);
        request.off('close', onAbort);
        request.pause();
      }
      resolve(result);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.byteLength;
      if (size > limitBytes) finish('too-large');
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      finish(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onAbort = (): void => finish('aborted');
    const deadline = deadlines.start(() => finish('timeout'));
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onAbort);
    request.on('close', onAbort);
  });
}
