import { Socket } from 'node:net';
import { Redis } from 'ioredis';

/** The Redis the benchmarks use: `REDIS_URL`, default `redis://127.0.0.1:6379`. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Resolves undefined when Redis answers a TCP connect within a second, else a reason to skip. */
export async function redisUnavailable(): Promise<string | undefined> {
  const url = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (reason: string | undefined) => {
      socket.destroy();
      resolve(reason);
    };
    socket.setTimeout(1_000, () => done(`no Redis at ${REDIS_URL} (timeout)`));
    socket.once('error', (error) => done(`no Redis at ${REDIS_URL} (${error.message})`));
    socket.connect(Number(url.port || 6379), url.hostname, () => done(undefined));
  });
}

/** Deletes every key under `prefix` (what a scenario created), SCAN + UNLINK. */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
