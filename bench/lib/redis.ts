import { Socket } from 'node:net';

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
