// Type tests of the public API as a user compiles it: against the built declaration files, on every
// supported TypeScript (scripts/typecheck-matrix.sh runs this folder with 5.5, 5.9, 6 and 7).
//
// Each `// @ts-expect-error` line must be an error (an unused directive is itself an error), and each
// has a negative control next to it: the same call written correctly, which must compile, so a test
// cannot pass because everything around it broke.
//
// Nothing here runs; the functions are never called.

import { BullMQProducer } from '@switchyard/bullmq';
import { describeTransportConformance } from '@switchyard/conformance';
import {
  CommandBus,
  CommandRouter,
  type Deferred,
  deferredFinder,
  defineCommand,
  defineEvent,
  defineQuery,
  EventBus,
  EventRouter,
  type QueryBus,
  type QueryRouter,
} from '@switchyard/core';
import { HttpProducer } from '@switchyard/http';
import { ZeroMQProducer } from '@switchyard/zeromq';

/** Compiles only when `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function expectType<T extends true>(): T | undefined {
  return undefined;
}

interface User {
  id: string;
  email: string;
}

declare const legacyDb: { find(id: string, callback: (error: Error | null, row?: User) => void): void };

const RegisterUser = defineCommand<{ id: string; email: string }>('RegisterUser');
const UserRegistered = defineEvent<{ id: string }>('UserRegistered');
const GetUser = defineQuery<{ id: string }, User | null>('GetUser');

export function finderMustReturnTheQueryResult(router: QueryRouter): void {
  // @ts-expect-error `undefined` is not `User | null`
  router.route(GetUser).to(async () => undefined);
  // @ts-expect-error a string is not `User | null` (synchronous finder)
  router.route(GetUser).to(() => 'ada@example.com');
  // @ts-expect-error a `{ find }` object must answer with the result type too
  router.route(GetUser).to({ find: async () => 42 });

  // Negative controls: the right result type compiles, sync or async, function or `{ find }`.
  router.route(GetUser).to(async () => null);
  router.route(GetUser).to((query) => ({ id: query.payload.id, email: 'ada@example.com' }));
  router.route(GetUser).to({ find: async (query) => ({ id: query.payload.id, email: 'a@b.c' }) });
}

export function finderSeesTheQueryPayload(router: QueryRouter): void {
  // @ts-expect-error the payload has `id`, not `userId`
  router.route(GetUser).to(async (query) => (query.payload.userId ? null : null));
  router.route(GetUser).to(async (query) => (query.payload.id ? null : null));
}

export function proophStyleDeferredFinderCompiles(router: QueryRouter): void {
  router.route(GetUser).to(
    deferredFinder((query, deferred) => {
      deferred.resolve({ id: query.payload.id, email: 'ada@example.com' });
    }),
  );
  router.route(GetUser).to(deferredFinder((_query, deferred) => deferred.resolve(null)));
  // The README's form: settled from a Node-style callback.
  router.route(GetUser).to(
    deferredFinder((query, deferred) => {
      legacyDb.find(query.payload.id, (error, row) =>
        error ? deferred.reject(error) : deferred.resolve(row ?? null),
      );
    }),
  );
  router.route(GetUser).to(
    deferredFinder((_query, deferred: Deferred<User | null>) => {
      deferred.reject(new Error('not found'));
    }),
  );
  router.route(GetUser).to(
    // @ts-expect-error the deferred takes `User | null`, not a number
    deferredFinder((_query, deferred) => deferred.resolve(42)),
  );
}

export async function queryDispatchReturnsTheResultType(bus: QueryBus): Promise<void> {
  const user = await bus.dispatch(GetUser.create({ id: 'u1' }));
  expectType<Equal<typeof user, User | null>>();
  // @ts-expect-error the result may be null
  user.email;
  // Negative control.
  user?.email;
  // @ts-expect-error the payload is checked when the message is built
  GetUser.create({ userId: 'u1' });
}

export async function commandAndEventRoundTrip(): Promise<void> {
  const commands = new CommandRouter();
  commands.route(RegisterUser).to(async (command) => {
    expectType<Equal<typeof command.payload, { id: string; email: string }>>();
  });
  const events = new EventRouter();
  events.route(UserRegistered).to((event) => {
    expectType<Equal<typeof event.payload, { id: string }>>();
  });
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const eventBus = new EventBus();
  eventBus.use(events);
  await commandBus.dispatch(RegisterUser.create({ id: 'u1', email: 'ada@example.com' }));
  await eventBus.dispatch(UserRegistered.create({ id: 'u1' }), { timeoutMs: 1_000 });
  // @ts-expect-error an unknown dispatch option
  await eventBus.dispatch(UserRegistered.create({ id: 'u1' }), { timeoutMillis: 1_000 });
}

// Every adapter's entry point type-checks from its declaration files.
export const adapters = [BullMQProducer, HttpProducer, ZeroMQProducer, describeTransportConformance];
