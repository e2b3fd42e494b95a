import { createServer } from 'node:net';
import {
  type AnyMessage,
  CommandBus,
  CommandRouter,
  defineCommand,
  defineQuery,
  type MessageProducer,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';

export const Ping = defineCommand<{ n: number }>('zeromq-test.Ping');
export const Slow = defineQuery<{ delayMs: number; tag: string }, { tag: string }>('zeromq-test.Slow');

/** A TCP port nobody listens on right now (the OS picks it; we release it at once). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The receiving buses: pings are recorded, Slow answers its tag after its delay. */
export function receivingSide() {
  const pings: AnyMessage[] = [];
  const queries: string[] = [];
  const commands = new CommandRouter();
  commands.route(Ping).to((command) => {
    pings.push(command);
  });
  const finders = new QueryRouter();
  finders.route(Slow).to(async (query) => {
    queries.push(query.payload.tag);
    await new Promise((resolve) => setTimeout(resolve, query.payload.delayMs));
    return { tag: query.payload.tag };
  });
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const queryBus = new QueryBus();
  queryBus.use(finders);
  return { pings, queries, commandBus, queryBus };
}

/** The sending buses, everything routed to `producer`. */
export function sendingSide(producer: MessageProducer) {
  const commands = new CommandRouter();
  commands.route(Ping).to(producer);
  const finders = new QueryRouter();
  finders.route(Slow).to(producer);
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const queryBus = new QueryBus();
  queryBus.use(finders);
  return { commandBus, queryBus };
}

export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('Expected the promise to reject, but it resolved');
}

/** The root Switchyard error of a dispatch error (or the error itself). */
export function rootOf(error: unknown): unknown {
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined ? error : cause;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves when `condition()` holds; throws after `timeoutMs`. */
export async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(5);
  }
}

/**
 * Starts a consumer, retrying while its fixed port is still held by a consumer closed a moment ago:
 * libzmq releases a closed socket's listener in the background.
 */
export async function startOnReleasedPort<T>(start: () => Promise<T>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await start();
    } catch (error) {
      const inUse = String((error as { cause?: { code?: unknown } }).cause?.code) === 'EADDRINUSE';
      if (!inUse || Date.now() > deadline) throw error;
      await sleep(50);
    }
  }
}
