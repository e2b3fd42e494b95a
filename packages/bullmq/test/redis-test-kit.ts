import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The Redis the tests use: `REDIS_URL`, default `redis://127.0.0.1:6379`. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A key prefix unique to this test run, so runs never see each other's jobs. */
export function uniquePrefix(label: string): string {
  return `sy-test-${label}-${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under `prefix` (SCAN + UNLINK, bounded by the key count). */
export async function deleteKeys(prefix: string, url = REDIS_URL): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', () => undefined);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1_000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export { sleep, waitFor } from '@switchyard/conformance';
