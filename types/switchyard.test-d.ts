// Type tests of createSwitchyard, typed routes, handle() and typed dispatch — against the built
// declaration files, on every supported TypeScript (see public-api.test-d.ts for the conventions:
// each `// @ts-expect-error` has a negative control next to it). Nothing here runs.

import { bullmqTransport } from '@switchyard/bullmq';
import {
  type CommandBus,
  createSwitchyard,
  deferredFinder,
  defineCommand,
  defineEvent,
  defineQuery,
  defineTransport,
  type EventBus,
  handle,
  inMemoryTransport,
  parseRoutes,
  type QueryBus,
} from '@switchyard/core';
import { httpTransport } from '@switchyard/http';
import { zeromqTransport } from '@switchyard/zeromq';

interface User {
  userId: string;
  email: string;
}
const RegisterUser = defineCommand<User>('RegisterUser');
const UserRegistered = defineEvent<User>('UserRegistered');
const GetUser = defineQuery<{ userId: string }, User | null>('GetUser');
const definitions = [RegisterUser, UserRegistered, GetUser];

const transports = {
  jobs: bullmqTransport({ queueName: 'users' }),
  users: httpTransport({ producer: { url: 'http://127.0.0.1:8080/' } }),
  push: zeromqTransport({ producer: { commandEndpoint: 'tcp://127.0.0.1:5555' } }), // no queryEndpoint: no replies
  rpc: zeromqTransport({
    producer: { commandEndpoint: 'tcp://127.0.0.1:5555', queryEndpoint: 'tcp://127.0.0.1:5556' },
  }),
  bus: inMemoryTransport(),
  oneWay: defineTransport({
    kind: 'one-way',
    capabilities: { replies: false, confirmsHandling: false, durable: false },
    producer: undefined,
    consumer: undefined,
  }),
};

export function typedRoutesRefuseAQueryOnATransportWithoutReplies(): void {
  // @ts-expect-error a ZeroMQ producer without a queryEndpoint cannot carry GetUser's reply
  createSwitchyard({ definitions, transports, routes: [[GetUser, 'push']] });
  // @ts-expect-error nor can a transport declared with `replies: false`
  createSwitchyard({ definitions, transports, routes: [[GetUser, 'oneWay']] });
  // @ts-expect-error a transport name that is not in `transports`
  createSwitchyard({ definitions, transports, routes: [[RegisterUser, 'nowhere']] });
  // Negative controls: replying transports for the query, any transport for commands and events.
  createSwitchyard({
    definitions,
    transports,
    routes: [
      [GetUser, 'users'],
      [GetUser, 'rpc'],
      [RegisterUser, 'push'],
      [UserRegistered, ['jobs', 'bus']],
      [UserRegistered, 'local'],
    ],
  });
  // Routes as data are checked when the app is created, not by the compiler.
  createSwitchyard({
    definitions,
    transports,
    routes: { GetUser: 'users', ...parseRoutes(process.env.ROUTES) },
  });
}

export function handlersAreTypedByTheirDefinition(): void {
  // @ts-expect-error a finder must answer with the query's result type: undefined is not User | null
  handle(GetUser, async () => undefined);
  // @ts-expect-error the payload of GetUser has userId, not id
  handle(GetUser, (query) => (query.payload.id ? null : null));
  // @ts-expect-error a command handler gets the command's payload type
  handle(RegisterUser, (command) => command.payload.name);
  // Negative controls, the prooph style included.
  handle(GetUser, async (query) => ({ userId: query.payload.userId, email: 'ada@example.com' }));
  handle(GetUser, () => null);
  handle(GetUser, { find: async () => null });
  handle(
    GetUser,
    deferredFinder((query, deferred) => deferred.resolve({ userId: query.payload.userId, email: 'x' })),
  );
  handle(RegisterUser, (command) => command.payload.email);
  handle(UserRegistered, { onEvent: (event) => event.payload.userId });
}

export async function dispatchTakesOnlyItsBusKind(commands: CommandBus, events: EventBus, queries: QueryBus) {
  // @ts-expect-error a query on the command bus
  await commands.dispatch(GetUser.create({ userId: 'u1' }));
  // @ts-expect-error a plain object is not a message
  await commands.dispatch({ name: 'RegisterUser', payload: {} });
  // @ts-expect-error a command on the event bus
  await events.dispatch(RegisterUser.create({ userId: 'u1', email: 'e' }));
  // @ts-expect-error a command on the query bus
  await queries.dispatch(RegisterUser.create({ userId: 'u1', email: 'e' }));
  // Negative controls, and the documented entry point for raw messages.
  await commands.dispatch(RegisterUser.create({ userId: 'u1', email: 'e' }));
  await events.dispatch(UserRegistered.create({ userId: 'u1', email: 'e' }));
  const user: User | null = await queries.dispatch(GetUser.create({ userId: 'u1' }));
  const raw: unknown = await commands.dispatchRaw({ name: 'LegacyImport', payload: { file: 'x.csv' } });
  return [user, raw];
}
