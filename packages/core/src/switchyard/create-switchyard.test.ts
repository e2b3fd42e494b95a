import type { StandardSchemaV1 } from '@standard-schema/spec';
import { afterEach, describe, expect, it } from 'vitest';
import { defineCommand, defineEvent, defineQuery } from '../definitions.ts';
import { ErrorCode, isSwitchyardError } from '../errors.ts';
import { InMemoryChannel } from '../in-memory/in-memory-channel.ts';
import { InMemoryTopic } from '../in-memory/in-memory-topic.ts';
import { InMemoryTopicPublisher } from '../in-memory/in-memory-topic-publisher.ts';
import { inMemoryTransport } from '../in-memory/in-memory-transport.ts';
import { deferredFinder } from '../plugins/deferred-finder.ts';
import { closeOnSignals } from './close-on-signals.ts';
import { createSwitchyard, type Switchyard } from './create-switchyard.ts';
import { handle } from './handler-binding.ts';
import { parseRoutes } from './route-table.ts';
import { defineTransport } from './transport-definition.ts';

interface User {
  readonly userId: string;
  readonly email: string;
}

const email: StandardSchemaV1<unknown, { userId: string; email: string }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      const candidate = value as { userId?: unknown; email?: unknown } | null;
      if (typeof candidate?.email !== 'string' || !candidate.email.includes('@')) {
        return { issues: [{ message: 'email must contain @', path: ['email'] }] };
      }
      return { value: { userId: String(candidate.userId), email: candidate.email } };
    },
  },
};

const RegisterUser = defineCommand<{ userId: string; email: string }>('RegisterUser', { schema: email });
const UserRegistered = defineEvent<{ userId: string }>('UserRegistered');
const GetUser = defineQuery<{ userId: string }, User | null>('GetUser');
const definitions = [RegisterUser, UserRegistered, GetUser];

/** A transport that cannot carry replies (like a fire-and-forget queue). */
const oneWay = defineTransport({
  kind: 'one-way',
  capabilities: { replies: false, confirmsHandling: false, durable: false },
  producer: undefined,
  consumer: undefined,
});

const opened: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((app) => app.close()));
});
function track(app: Switchyard): Switchyard {
  opened.push(app);
  return app;
}

/** Two processes' worth of configuration over two in-memory channels, "a" and "b". */
function twoProcesses(routes: Record<string, string>, validate?: 'receive' | 'send' | 'both' | 'none') {
  const transports = { a: inMemoryTransport({ channel: new InMemoryChannel() }), b: inMemoryTransport() };
  const users = new Map<string, User>();
  const events: string[] = [];
  const service = track(
    createSwitchyard({
      definitions,
      transports,
      routes,
      validate,
      handlers: [
        handle(RegisterUser, async (command) => {
          users.set(command.payload.userId, command.payload);
          await service.eventBus.dispatch(UserRegistered.create({ userId: command.payload.userId }));
        }),
        handle(UserRegistered, (event) => {
          events.push(event.payload.userId);
        }),
        handle(GetUser, (query) => users.get(query.payload.userId) ?? null),
      ],
    }),
  );
  const web = track(createSwitchyard({ definitions, transports, routes, validate }));
  return { service, web, users, events };
}

describe('createSwitchyard', () => {
  it('serves the transports of the messages it handles and sends over the others, building only what it uses', async () => {
    const { service, web, users, events } = twoProcesses({ RegisterUser: 'a', GetUser: 'b' });
    expect(service.serves).toEqual(['a', 'b']);
    expect(service.sendsOver).toEqual([]);
    expect(web.serves).toEqual([]);
    expect(web.sendsOver).toEqual(['a', 'b']);
    expect(await service.start()).toEqual({ a: 'in-memory', b: 'in-memory' });
    await web.start();

    await web.commandBus.dispatch(RegisterUser.create({ userId: 'u1', email: 'ada@example.com' }));
    const user = await web.queryBus.dispatch(GetUser.create({ userId: 'u1' }), { timeoutMs: 2_000 });
    expect(user).toEqual({ userId: 'u1', email: 'ada@example.com' });
    expect(users.size).toBe(1);
    // The event is unrouted: local to the service that dispatched it.
    expect(events).toEqual(['u1']);
    expect(web.builtProducers().sort()).toEqual(['a', 'b']);
    // The receiving process never opened a producer.
    expect(service.builtProducers()).toEqual([]);
  });

  it('moves a message to another transport by configuration alone (routes from JSON)', async () => {
    const defaults = { RegisterUser: 'a', GetUser: 'a' };
    const moved = { ...defaults, ...parseRoutes('{"GetUser":"b"}', 'SWITCHYARD_ROUTES') };
    const { service, web } = twoProcesses(moved);
    expect(service.serves).toEqual(['a', 'b']);
    await service.start();
    await web.commandBus.dispatch(RegisterUser.create({ userId: 'u2', email: 'grace@example.com' }));
    // The same dispatching code; the query now travels over "b".
    expect(await web.queryBus.dispatch(GetUser.create({ userId: 'u2' }), { timeoutMs: 2_000 })).toMatchObject(
      {
        userId: 'u2',
      },
    );
    expect(web.builtProducers().sort()).toEqual(['a', 'b']);
  });

  it('validates on receive by default, and on send when asked (nothing reaches the transport)', async () => {
    const receiving = twoProcesses({ RegisterUser: 'a', GetUser: 'a' });
    await receiving.service.start();
    const failures: unknown[] = [];
    // In-memory commands resolve once handed over; the consumer refuses the payload and reports it.
    const service = track(
      createSwitchyard({
        definitions,
        transports: { q: inMemoryTransport({ consumer: { onError: (error) => failures.push(error) } }) },
        routes: { RegisterUser: 'q' },
        handlers: [handle(RegisterUser, () => {})],
      }),
    );
    await service.start();
    await service.commandBus.dispatch(RegisterUser.create({ userId: 'x', email: 'not-an-email' }));
    await expect.poll(() => failures.length).toBe(1);
    expect(isSwitchyardError(failures[0], ErrorCode.ValidationError)).toBe(true);

    const sending = twoProcesses({ RegisterUser: 'a', GetUser: 'a' }, 'send');
    await sending.service.start();
    const error = await sending.web.commandBus
      .dispatch(RegisterUser.create({ userId: 'x', email: 'nope' }))
      .catch((e: unknown) => e);
    expect(isSwitchyardError(error, ErrorCode.ValidationError)).toBe(true);
    expect((error as { issues?: unknown }).issues).toEqual([
      { message: 'email must contain @', path: ['email'] },
    ]);
    // Refused before any transport: the sender did not even build its producer.
    expect(sending.web.builtProducers()).toEqual([]);
    expect(sending.users.size).toBe(0);
  });

  it('refuses wrong configuration with a ConfigurationError that names the problem', () => {
    const bad = (options: Parameters<typeof createSwitchyard>[0]) => () => createSwitchyard(options);
    const transports = { q: inMemoryTransport(), oneWay };
    expect(bad({ definitions, transports, routes: { GetUser: 'nowhere' } })).toThrowError(
      /unknown transport "nowhere"/,
    );
    expect(bad({ definitions, transports, routes: { GetUser: 'oneWay' } })).toThrowError(
      /does not carry replies/,
    );
    expect(bad({ definitions, transports, routes: { Missing: 'q' } })).toThrowError(/no definition/);
    expect(bad({ definitions, transports, routes: { RegisterUser: ['q', 'oneWay'] } })).toThrowError(
      /one transport/,
    );
    expect(bad({ definitions, transports: { local: inMemoryTransport() } })).toThrowError(/reserved/);
    expect(
      bad({
        definitions,
        handlers: [handle(RegisterUser, () => {}), handle(RegisterUser, () => {})],
      }),
    ).toThrowError(/two handlers/);
    expect(
      bad({
        definitions,
        transports,
        routes: { UserRegistered: ['q', 'oneWay'] },
        handlers: [handle(UserRegistered, () => {})],
      }),
    ).toThrowError(/serve/);
    expect(() => parseRoutes('{not json', 'SWITCHYARD_ROUTES')).toThrowError(
      /SWITCHYARD_ROUTES is not valid JSON/,
    );
    expect(() => parseRoutes('{"GetUser":3}')).toThrowError(/transport name/);
    expect(parseRoutes(undefined)).toEqual({});
    for (const thrower of [
      bad({ definitions, transports, routes: { GetUser: 'oneWay' } }),
      () => parseRoutes('[]'),
    ]) {
      try {
        thrower();
        expect.unreachable();
      } catch (error) {
        expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
      }
    }
  });

  it('says which options are missing when a process uses a side it did not configure', async () => {
    const app = track(
      createSwitchyard({
        definitions,
        transports: { jobs: oneWay },
        routes: { RegisterUser: 'jobs' },
      }),
    );
    const error = await app.commandBus
      .dispatch(RegisterUser.create({ userId: 'u', email: 'a@b' }))
      .catch((e: unknown) => e);
    expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration)).toBe(true);
    expect((error as Error).message).toContain('Transport "jobs"');
    expect((error as Error).message).toContain('producer');
  });

  it('checks typed routes and handlers at compile time', () => {
    const transports = { q: inMemoryTransport(), oneWay };
    const app = track(
      createSwitchyard({
        definitions,
        transports,
        routes: [
          [RegisterUser, 'oneWay'],
          [GetUser, 'q'],
        ],
        handlers: [handle(GetUser, async (query) => ({ userId: query.payload.userId, email: 'x@y' }))],
      }),
    );
    expect(app.serves).toEqual(['q']);
    // The prooph style compiles, typed by the query.
    const prooph = handle(
      GetUser,
      deferredFinder((query, deferred) => deferred.resolve({ userId: query.payload.userId, email: 'z' })),
    );
    expect(prooph.definition).toBe(GetUser);
    // @ts-expect-error a query cannot be routed to a transport that does not carry replies
    expect(() => createSwitchyard({ definitions, transports, routes: [[GetUser, 'oneWay']] })).toThrowError(
      /does not carry replies/,
    );
    // @ts-expect-error a finder must answer with the query's result type (User | null, not undefined)
    handle(GetUser, async () => undefined);
    // @ts-expect-error the command bus takes commands only; the query fails at run time too
    const misuse = app.commandBus.dispatch(GetUser.create({ userId: 'u' }));
    return expect(misuse).rejects.toMatchObject({ code: ErrorCode.InvalidMessage });
  });

  it('closes consumers, then the producers it built; once', async () => {
    const { service, web } = twoProcesses({ RegisterUser: 'a', GetUser: 'a' });
    await service.start();
    await web.commandBus.dispatch(RegisterUser.create({ userId: 'u3', email: 'c@d' }));
    const first = web.close();
    expect(web.close()).toBe(first);
    await first;
    const late = await web.commandBus
      .dispatch(RegisterUser.create({ userId: 'u4', email: 'e@f' }))
      .catch((e: unknown) => e);
    expect(isSwitchyardError(late, ErrorCode.ProducerClosed)).toBe(true);
    await service.close();
    // start() is once: the first promise, with the address of each served transport.
    await expect(service.start()).resolves.toEqual({ a: 'in-memory' });
  });

  it('starts an eagerProducer at start() (a publisher that binds), and only in a process that sends over it', async () => {
    const Noted = defineEvent<{ n: number }>('Noted');
    let built = 0;
    const publisherThatBinds = defineTransport({
      kind: 'binds',
      capabilities: { replies: false, confirmsHandling: false, durable: false, fanOut: true },
      producer: () => {
        built++;
        return new InMemoryTopicPublisher({ topic: new InMemoryTopic() });
      },
      consumer: undefined,
      eagerProducer: true,
    });
    expect(publisherThatBinds.eagerProducer).toBe(true);
    const sender = createSwitchyard({
      transports: { events: publisherThatBinds },
      routes: [[Noted, 'events']],
    });
    expect(built).toBe(0); // nothing before start()
    await expect(sender.start()).resolves.toEqual({ events: 'in-memory-topic' });
    expect(built).toBe(1);
    expect(sender.builtProducers()).toEqual(['events']);
    await sender.eventBus.dispatch(Noted.create({ n: 1 }));
    expect(built).toBe(1); // the same producer
    await sender.close();

    const bystander = createSwitchyard({ transports: { events: publisherThatBinds } });
    await expect(bystander.start()).resolves.toEqual({});
    expect(built).toBe(1); // routes nothing over it: builds nothing
    await bystander.close();
  });

  it('closeOnSignals closes everything on SIGTERM, within its bound', async () => {
    const closed: string[] = [];
    const outcomes: unknown[] = [];
    const remove = closeOnSignals(
      { close: async () => void closed.push('closed') },
      { exit: false, onClosed: (outcome) => outcomes.push(outcome) },
    );
    process.emit('SIGTERM', 'SIGTERM');
    await expect.poll(() => outcomes).toEqual([{ signal: 'SIGTERM' }]);
    expect(closed).toEqual(['closed']);
    expect(process.exitCode).toBe(0);
    remove();

    const hung: unknown[] = [];
    closeOnSignals(
      { close: () => new Promise<void>(() => {}) },
      { exit: false, timeoutMs: 50, onClosed: (outcome) => hung.push(outcome) },
    );
    process.emit('SIGINT', 'SIGINT');
    await expect.poll(() => hung.length).toBe(1);
    expect(String((hung[0] as { error: Error }).error)).toMatch(/within 50 ms of SIGINT/);
    expect(process.exitCode).toBe(1);
    process.exitCode = 0;
  });
});
