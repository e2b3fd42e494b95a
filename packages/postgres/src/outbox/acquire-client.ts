import { errorMessage, TransportError } from '@switchyard/core';
import type { Pool, PoolClient } from 'pg';

/**
 * `pool.connect()` bounded by `timeoutMs`: rejects with `SWITCHYARD_TRANSPORT_ERROR` when PostgreSQL
 * refuses the connection or does not answer in time (`pg` waits forever by default), so nothing
 * that needs a connection hangs. A client that arrives after the timeout is released at once.
 */
export function acquireClient(pool: Pool, timeoutMs: number, component: string): Promise<PoolClient> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      reject(new TransportError(`${component}: no PostgreSQL connection within ${timeoutMs} ms`));
    }, timeoutMs);
    pool.connect().then(
      (client) => {
        if (settled) {
          client.release();
          return;
        }
        settled = true;
        clearTimeout(timer);
        watch(client);
        resolve(client);
      },
      (error: unknown) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(
          new TransportError(`${component}: cannot connect to PostgreSQL: ${errorMessage(error)}`, {
            cause: error,
          }),
        );
      },
    );
  });
}

/** `error` as a Switchyard error: itself when it has a Switchyard code, else a `TransportError` saying what failed. */
export function asTransportError(error: unknown, what: string): Error {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code === 'string' && code.startsWith('SWITCHYARD_')) return error as Error;
  return new TransportError(`${what}: ${errorMessage(error)}`, { cause: error });
}

const watched = new WeakSet<PoolClient>();

/**
 * node-postgres emits `error` on a checked-out client whose connection breaks, besides failing its
 * queries; with no listener that would crash the process. The failure reaches the caller through
 * the failed query (and the client is released as broken), so the event itself needs no handling.
 */
function watch(client: PoolClient): void {
  if (watched.has(client)) return;
  watched.add(client);
  client.on('error', () => undefined);
}
