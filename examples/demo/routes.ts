import { bullmqTransport } from '@switchyard/bullmq';
import { inMemoryTransport, parseRoutes, type RouteTable } from '@switchyard/core';
import { httpTransport } from '@switchyard/http';
import { zeromqTransport } from '@switchyard/zeromq';
import { CountUsers, GetUser, RegisterUser, SendWelcomeMail, UserRegistered } from './messages.ts';

/** Every message type, registered once. */
export const definitions = [RegisterUser, UserRegistered, SendWelcomeMail, GetUser, CountUsers];

/**
 * Which transport carries which message: data, not code. `SWITCHYARD_ROUTES='{"GetUser":"zeromq"}'`
 * moves GetUser from HTTP to ZeroMQ without touching the code that dispatches it.
 */
export const routes: RouteTable = {
  RegisterUser: 'durable',
  GetUser: 'http',
  CountUsers: 'zeromq',
  ...parseRoutes(process.env.SWITCHYARD_ROUTES, 'SWITCHYARD_ROUTES'),
};

/** Where the users service listens (both processes read the same settings). */
export interface Endpoints {
  readonly redis: { readonly url: string; readonly prefix: string } | undefined; // none: "durable" is in-memory
  readonly httpPort: number;
  readonly zeromqPorts: readonly [commands: number, queries: number];
}

/** The named transports. Each process builds only the side it uses. */
export function transports({ redis, httpPort, zeromqPorts: [commands, queries] }: Endpoints) {
  return {
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
}
