import { bullmqTransport } from '@switchyard/bullmq';
import { inMemoryTransport, parseRoutes, type RouteTable, type TransportDefinition } from '@switchyard/core';
import { httpTransport } from '@switchyard/http';
import type { PostgresOutbox } from '@switchyard/postgres';
import { zeromqTransport } from '@switchyard/zeromq';
import { CountUsers, GetUser, RegisterUser, SendWelcomeMail, UserRegistered } from './messages.ts';

/** Every message type, registered once. */
export const definitions = [RegisterUser, UserRegistered, SendWelcomeMail, GetUser, CountUsers];

/**
 * Which transport carries which message: data, not code. `SWITCHYARD_ROUTES='{"GetUser":"zeromq"}'`
 * moves GetUser from HTTP to ZeroMQ without touching the code that dispatches it.
 */
export function routes(withOutbox: boolean): RouteTable {
  return {
    RegisterUser: 'durable',
    GetUser: 'http',
    CountUsers: 'zeromq',
    UserRegistered: withOutbox ? 'events' : 'local', // committed with the user row, then relayed
    ...parseRoutes(process.env.SWITCHYARD_ROUTES, 'SWITCHYARD_ROUTES'),
  };
}

/** Where the users service listens (both processes read the same settings). */
export interface Endpoints {
  readonly redis: { readonly url: string; readonly prefix: string } | undefined; // none: "durable" is in-memory
  readonly httpPort: number;
  readonly zeromqPorts: readonly [commands: number, queries: number];
}

/**
 * The named transports. Each process builds only the side it uses. With an outbox, "events" writes
 * into it and its relay forwards to `relayed` (in-memory here; any transport in production).
 */
export function transports(
  { redis, httpPort, zeromqPorts: [commands, queries] }: Endpoints,
  outbox?: PostgresOutbox,
) {
  const relayed = inMemoryTransport();
  const all: Record<string, TransportDefinition> = {
    durable: redis
      ? bullmqTransport({
          queueName: 'users',
          prefix: redis.prefix,
          connection: redis.url,
          consumer: { concurrency: 8 },
        })
      : inMemoryTransport(),
    http: httpTransport({ producer: { url: `http://127.0.0.1:${httpPort}/` }, consumer: { port: httpPort } }),
    zeromq: zeromqTransport({
      producer: {
        commandEndpoint: `tcp://127.0.0.1:${commands}`,
        queryEndpoint: `tcp://127.0.0.1:${queries}`,
      },
      consumer: {
        commandEndpoint: `tcp://127.0.0.1:${commands}`,
        queryEndpoint: `tcp://127.0.0.1:${queries}`,
      },
    }),
  };
  if (outbox !== undefined) all.events = outbox.transport('events', relayed);
  return { all, relayed };
}
