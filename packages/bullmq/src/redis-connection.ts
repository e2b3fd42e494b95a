import { once } from 'node:events';
import { fulfilledWithin } from '@switchyard/core';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { within } from './within.ts';

/**
 * How to reach Redis: ioredis options, a `redis://` / `rediss://` URL, or an existing ioredis
 * `Redis` or `Cluster` instance (which the adapter uses as given and never closes).
 */
export type RedisConnection = RedisOptions | string | Redis | Cluster;

/**
 * Connection settings that make a producer's commands fail instead of waiting for Redis: no offline
 * queue, a 2 s connect timeout, one retry per command, endless reconnects at most a second apart.
 */
export const FAIL_FAST = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  retryStrategy: (times: number) => Math.min(times * 100, 1_000),
} as const satisfies RedisOptions;

/** A client and whether the adapter created it (and so must close it). */
export interface OpenedRedis {
  readonly client: Redis | Cluster;
  readonly owned: boolean;
}

/** True for an ioredis `Redis` or `Cluster` instance (or anything shaped like one). */
export function isRedisClient(value: unknown): value is Redis | Cluster {
  if (value instanceof Redis || value instanceof Cluster) return true;
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return ['connect', 'disconnect', 'duplicate'].every((key) => typeof candidate[key] === 'function');
}

/**
 * Opens a client for `connection` with `overrides` applied. An existing instance is returned as is
 * (overrides cannot be applied to it), unless `duplicate` asks for a new connection like it.
 */
export function openRedis(
  connection: RedisConnection,
  overrides: RedisOptions,
  duplicate = false,
): OpenedRedis {
  if (isRedisClient(connection)) {
    if (!duplicate) return { client: connection, owned: false };
    // A Cluster keeps its node options; the cluster-level settings of `overrides` that matter here
    // (offline queue, retries) apply to the cluster client itself.
    const copy =
      connection instanceof Cluster
        ? connection.duplicate(undefined, {
            enableOfflineQueue: overrides.enableOfflineQueue ?? true,
            ...(overrides.enableAutoPipelining === undefined
              ? {}
              : { enableAutoPipelining: overrides.enableAutoPipelining }),
            ...(overrides.maxRetriesPerRequest === undefined
              ? {}
              : {
                  redisOptions: {
                    ...connection.options.redisOptions,
                    maxRetriesPerRequest: overrides.maxRetriesPerRequest,
                  },
                }),
          })
        : connection.duplicate(overrides);
    return { client: copy, owned: true };
  }
  if (typeof connection === 'string') return { client: new Redis(connection, overrides), owned: true };
  const { url, ...rest } = connection as RedisOptions & { url?: string };
  const options = { ...rest, ...overrides };
  return { client: url === undefined ? new Redis(options) : new Redis(url, options), owned: true };
}

/** Closes a client the adapter owns: QUIT when connected (at most `timeoutMs`), else a plain disconnect. */
export async function closeRedis(opened: OpenedRedis | undefined, timeoutMs = 2_000): Promise<void> {
  if (opened === undefined || !opened.owned) return;
  const client = opened.client;
  if (client.status === 'ready') await fulfilledWithin(client.quit(), timeoutMs);
  if (client.status !== 'end') client.disconnect();
}

/** True while `client` makes a connection attempt (or waits to make its first, `lazyConnect`). */
export function isConnecting(client: Redis | Cluster): boolean {
  const status = client.status;
  return status === 'connecting' || status === 'connect' || status === 'wait';
}

/**
 * Waits until `client` is ready, at most `timeoutMs`. Rejects at once when it is neither ready nor
 * making a connection attempt right now (reconnecting after a loss, or closed): that is how the
 * producer fails fast instead of queueing work for a Redis that is not there.
 */
export async function whenReady(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  const status = client.status;
  if (status === 'ready') return;
  if (!isConnecting(client)) throw new Error(`Redis connection is ${status}`);
  const stop = new AbortController();
  const { signal } = stop;
  const closed = Promise.race([once(client, 'close', { signal }), once(client, 'end', { signal })]).then(
    () => {
      throw new Error('Redis connection closed while connecting');
    },
  );
  if (status === 'wait') client.connect().catch(() => undefined);
  try {
    await within(
      Promise.race([once(client, 'ready', { signal }), closed]),
      timeoutMs,
      'Redis did not become ready',
    );
  } finally {
    stop.abort(); // removes the listeners
  }
}
