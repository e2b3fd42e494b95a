import { sleep, waitFor as waitUntil } from '@switchyard/conformance';
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

export { freePort, rejectionOf, sleep } from '@switchyard/conformance';

export const Ping = defineCommand<{ n: number }>('zeromq-test.Ping');
export const Slow = defineQuery<{ delayMs: number; tag: string }, { tag: string }>('zeromq-test.Slow');

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

/** The root Switchyard error of a dispatch error (or the error itself). */
export function rootOf(error: unknown): unknown {
  const cause = (error as { cause?: unknown }).cause;
  return cause === undefined ? error : cause;
}

/** Resolves when `condition()` holds; throws after `timeoutMs` (5 s here, the ZeroMQ tests' bound). */
export function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  return waitUntil(condition, timeoutMs);
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
