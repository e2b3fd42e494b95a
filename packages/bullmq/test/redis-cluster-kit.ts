import { randomUUID } from 'node:crypto';
import { Cluster, type ClusterNode, type ClusterOptions, Redis } from 'ioredis';

/**
 * The Redis Cluster the cluster tests use: `REDIS_CLUSTER_NODES` (comma-separated `host:port`),
 * default the three masters `bash scripts/redis-cluster.sh start` runs on 127.0.0.1:7001–7003.
 */
export const REDIS_CLUSTER_NODES: readonly { readonly host: string; readonly port: number }[] = (
  process.env.REDIS_CLUSTER_NODES ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003'
)
  .split(',')
  .map((node) => node.trim())
  .filter((node) => node !== '')
  .map((node) => {
    const colon = node.lastIndexOf(':');
    return { host: node.slice(0, colon), port: Number(node.slice(colon + 1)) };
  });

/** `host:port,…` of {@link REDIS_CLUSTER_NODES}, for messages. */
export const REDIS_CLUSTER_LABEL = REDIS_CLUSTER_NODES.map(({ host, port }) => `${host}:${port}`).join(',');

/**
 * A BullMQ prefix that is a Redis Cluster hash tag unique to this run, e.g. `{sy-cluster-1a2b3c4d}`:
 * every key of every queue under it hashes to one slot, as BullMQ's Lua scripts need.
 */
export function hashTagPrefix(label: string): string {
  return `{sy-${label}-${randomUUID().slice(0, 8)}}`;
}

/**
 * The roles of the README's Redis Cluster section: a `producer` cluster fails fast
 * (`enableOfflineQueue: false`), a `worker` cluster lets commands wait for Redis
 * (`redisOptions: { maxRetriesPerRequest: null }`, which BullMQ requires of a worker), a `plain`
 * one is ioredis's defaults (for tests' own reads and publishes).
 */
export type ClusterRole = 'producer' | 'worker' | 'plain';

const ROLE_OPTIONS: Record<ClusterRole, ClusterOptions> = {
  producer: { enableOfflineQueue: false },
  worker: { redisOptions: { maxRetriesPerRequest: null } },
  plain: {},
};

/**
 * A new ioredis `Cluster` on {@link REDIS_CLUSTER_NODES} set up for `role` as the README documents
 * it (`options` are merged over the role's). The caller closes it (`cluster.disconnect()`, or
 * {@link closeCluster}) after the producer/consumer it was passed to closed.
 */
export function clusterConnection(role: ClusterRole, options: ClusterOptions = {}): Cluster {
  const base = ROLE_OPTIONS[role];
  const cluster = new Cluster(REDIS_CLUSTER_NODES as ClusterNode[], {
    ...base,
    ...options,
    redisOptions: { ...base.redisOptions, ...options.redisOptions },
  });
  cluster.on('error', () => undefined); // a test that cares listens itself
  return cluster;
}

/** Closes a cluster client: QUIT when ready (at most 2 s), then disconnect. */
export async function closeCluster(cluster: Cluster): Promise<void> {
  if (cluster.status === 'ready') {
    await Promise.race([cluster.quit().catch(() => undefined), new Promise((r) => setTimeout(r, 2_000))]);
  }
  if (cluster.status !== 'end') cluster.disconnect();
}

/**
 * Why the cluster cannot be used, or `undefined` when every node of {@link REDIS_CLUSTER_NODES}
 * answers and reports `cluster_state:ok`. Bounded: about a second per node at most.
 */
export async function clusterUnavailable(): Promise<string | undefined> {
  if (REDIS_CLUSTER_NODES.length === 0) return 'REDIS_CLUSTER_NODES names no node';
  for (const { host, port } of REDIS_CLUSTER_NODES) {
    const node = new Redis({
      host,
      port,
      lazyConnect: true,
      connectTimeout: 1_000,
      commandTimeout: 1_000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    node.on('error', () => undefined);
    try {
      await node.connect();
      const info = String(await node.call('CLUSTER', 'INFO'));
      if (!/^cluster_state:ok\r?$/m.test(info)) return `${host}:${port} reports cluster_state other than ok`;
    } catch (error) {
      return `${host}:${port} does not answer as a cluster node (${(error as Error).message})`;
    } finally {
      node.disconnect();
    }
  }
  return undefined;
}

/**
 * Deletes every key under `prefix` on every master of the cluster (SCAN + UNLINK per node, bounded
 * by the key count). Keys are unlinked one by one in a pipeline, so a prefix without a hash tag
 * (keys in many slots) works too.
 */
export async function deleteClusterKeys(prefix: string): Promise<number> {
  const cluster = clusterConnection('plain', { redisOptions: { maxRetriesPerRequest: 1 } });
  let deleted = 0;
  try {
    await waitUntilReady(cluster);
    for (const node of cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1_000);
        cursor = next;
        if (keys.length > 0) {
          const pipeline = node.pipeline();
          for (const key of keys) pipeline.unlink(key);
          await pipeline.exec();
          deleted += keys.length;
        }
      } while (cursor !== '0');
    }
  } finally {
    await closeCluster(cluster);
  }
  return deleted;
}

/** How many keys under `prefix` the masters hold (SCAN per node), e.g. to check a cleanup. */
export async function countClusterKeys(prefix: string): Promise<number> {
  const cluster = clusterConnection('plain', { redisOptions: { maxRetriesPerRequest: 1 } });
  let count = 0;
  try {
    await waitUntilReady(cluster);
    for (const node of cluster.nodes('master')) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', `${globEscape(prefix)}*`, 'COUNT', 1_000);
        cursor = next;
        count += keys.length;
      } while (cursor !== '0');
    }
  } finally {
    await closeCluster(cluster);
  }
  return count;
}

/** Resolves once `cluster` is ready (it connects on its own), rejects after `timeoutMs`. */
export async function waitUntilReady(cluster: Cluster, timeoutMs = 5_000): Promise<void> {
  if (cluster.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cluster.off('ready', ready);
      reject(new Error(`Redis Cluster ${REDIS_CLUSTER_LABEL} not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    const ready = (): void => {
      clearTimeout(timer);
      resolve();
    };
    cluster.once('ready', ready);
  });
}

/** `prefix` with Redis glob metacharacters escaped, for SCAN MATCH. */
function globEscape(prefix: string): string {
  return prefix.replace(/[*?[\]\\]/g, '\\$&');
}
