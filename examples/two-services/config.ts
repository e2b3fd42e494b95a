// config.ts — the one module both processes import
import { bullmqTransport } from '@switchyard/bullmq';
import { defineCommand, defineEvent, defineQuery, parseRoutes } from '@switchyard/core';
import { bearerAuth, bearerHeaders, httpTransport } from '@switchyard/http';
import { zeromqTransport } from '@switchyard/zeromq';

export interface User {
  userId: string;
  email: string;
}
export const RegisterUser = defineCommand<User>('RegisterUser');
export const UserRegistered = defineEvent<User>('UserRegistered');
export const GetUser = defineQuery<{ userId: string }, User | null>('GetUser');
export const CountUsers = defineQuery<Record<string, never>, number>('CountUsers');
export const definitions = [RegisterUser, UserRegistered, GetUser, CountUsers];

const env = process.env;
const host = env.USERS_HOST ?? '127.0.0.1'; // where the web process finds the users service
const [http, commands, queries] = [env.HTTP_PORT ?? 8080, env.ZMQ_PORT ?? 5555, env.ZMQ_QUERY_PORT ?? 5556];
const token = env.USERS_TOKEN ?? 'dev-only-token';
export const transports = {
  jobs: bullmqTransport({
    queueName: 'users',
    prefix: env.QUEUE_PREFIX,
    connection: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  }),
  users: httpTransport({
    producer: { url: `http://${host}:${http}/`, headers: bearerHeaders(token) },
    consumer: { port: Number(http), host: env.BIND_HOST ?? '127.0.0.1', auth: bearerAuth(token) },
  }),
  fast: zeromqTransport({
    producer: { commandEndpoint: `tcp://${host}:${commands}`, queryEndpoint: `tcp://${host}:${queries}` },
    consumer: { commandEndpoint: `tcp://127.0.0.1:${commands}`, queryEndpoint: `tcp://127.0.0.1:${queries}` },
  }),
};
// UserRegistered has no route: it stays in the process that dispatches it.
export const routes = {
  RegisterUser: 'jobs',
  GetUser: 'users',
  CountUsers: 'fast',
  ...parseRoutes(env.SWITCHYARD_ROUTES, 'SWITCHYARD_ROUTES'), // '{"GetUser":"fast"}' moves GetUser
};
