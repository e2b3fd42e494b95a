import type { StandardSchemaV1 } from '@standard-schema/spec';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonCodec } from '../codec/json-codec.ts';
import { defineCommand, defineEvent, defineQuery } from '../definitions.ts';
import { ConfigurationError, ErrorCode, isSwitchyardError } from '../errors.ts';
import { InMemoryChannel } from '../in-memory/in-memory-channel.ts';
import { InMemoryConsumer } from '../in-memory/in-memory-consumer.ts';
import { inMemoryTransport } from '../in-memory/in-memory-transport.ts';
import type { AnyMessage } from '../message.ts';
import type { MessageProducer } from '../message-producer.ts';
import { installInstrumentation } from '../observability/instrumentation.ts';
import { DEAD_LETTER, deadLetterInfoOf, UNDECODABLE } from '../transport/dead-letter-sink.ts';
import type { ErrorContext } from '../transport/error-reporter.ts';
import type { StoredMessage, StoredMessages } from '../transport/stored-messages.ts';
import { createSwitchyard, type Switchyard } from './create-switchyard.ts';
import { handle } from './handler-binding.ts';
import { defineTransport, type TransportDefinition } from './transport-definition.ts';

// A durable queue nobody consumes, kept in memory: the test double of a BullMQ or PostgreSQL sink
// (the real ones are tested in examples/two-services/dead-letters.test.ts). It encodes and decodes
// like a transport, so the letter survives the wire format.
const codec = new JsonCodec();
function memoryQueue(options: { failing?: boolean } = {}) {
  const stored = new Map<string, { envelope: string; name: string; at: Date }>();
  const producer: MessageProducer = {
    capabilities: { replies: false, confirmsHandling: false, durable: true },
    async produce(message: AnyMessage) {
      if (options.failing === true) throw new Error('the sink is down');
      if (!stored.has(message.id)) {
        stored.set(message.id, {
          envelope: codec.encode(message) as string,
          name: message.name,
          at: new Date(),
        });
      }
    },
    async close() {},
  };
  const toStored = (id: string): StoredMessage => {
    const entry = stored.get(id)!;
    return {
      id,
      name: entry.name,
      message: codec.decode(entry.envelope),
      envelope: entry.envelope,
      storedAt: entry.at,
    };
  };
  const messages: StoredMessages = {
    count: async () => stored.size,
    list: async (offset = 0, limit = 100) =>
      [...stored.keys()]
        .reverse()
        .slice(offset, offset + limit)
        .map(toStored),
    get: async (id) => (stored.has(id) ? toStored(id) : undefined),
    remove: async (id) => {
      if (id !== undefined) return stored.delete(id) ? 1 : 0;
      const size = stored.size;
      stored.clear();
      return size;
    },
    close: async () => {},
  };
  const definition: TransportDefinition<false> = defineTransport({
    kind: 'memory-queue',
    capabilities: producer.capabilities as TransportDefinition<false>['capabilities'],
    producer: () => producer,
    consumer: undefined,
    storedMessages: () => messages,
  });
  return { definition, stored, producer };
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
const GetUser = defineQuery<{ userId: string }, string>('GetUser');

const opened: Switchyard[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((app) => app.close()));
});

/** One process that sends over and serves the in-memory transport "bus", with a sink "dlq". */
async function serviceWithSink(options: { failingSink?: boolean } = {}) {
  const dlq = memoryQueue({ failing: options.failingSink === true });
  const failures: { error: unknown; context: ErrorContext }[] = [];
  let broken = true;
  const registered: string[] = [];
  const app = createSwitchyard({
    transports: { bus: inMemoryTransport(), dlq: dlq.definition },
    routes: { RegisterUser: 'bus', UserRegistered: 'bus', GetUser: 'bus' },
    deadLetters: 'dlq',
    handlers: [
      handle(RegisterUser, (command) => {
        if (broken) throw new Error(`cannot register ${command.payload.userId}`);
        registered.push(command.payload.userId);
      }),
      handle(UserRegistered, () => {
        throw new Error('listener down');
      }),
      handle(GetUser, () => {
        throw new Error('no users today');
      }),
    ],
    onError: (error, context) => failures.push({ error, context }),
  });
  opened.push(app);
  await app.start();
  return {
    app,
    dlq,
    failures,
    registered,
    fix: () => {
      broken = false;
    },
  };
}

async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error('condition not met');
}

describe('dead-letter sink', () => {
  it('hands a command whose handler failed to the sink with error and origin; replay sends it back over its route', async () => {
    const { app, dlq, failures, registered, fix } = await serviceWithSink();
    const command = RegisterUser.create({ userId: 'u1', email: 'ada@example.com' });
    await app.commandBus.dispatch(command);
    await until(() => dlq.stored.size === 1);

    const letter = codec.decode(dlq.stored.get(command.id)!.envelope);
    expect(letter.payload).toEqual(command.payload);
    expect(letter.metadata['switchyard.receivedFrom']).toBeUndefined();
    const info = deadLetterInfoOf(letter)!;
    expect(info).toMatchObject({
      error:
        'SWITCHYARD_HANDLER_FAILED: Dispatch of "RegisterUser" failed in invoke-handler: cannot register u1',
      code: ErrorCode.HandlerFailed,
      origin: { transport: 'bus', kind: 'in-memory', address: 'in-memory' },
      attempts: 1,
    });
    expect(Number.isNaN(Date.parse(info.failedAt))).toBe(false);
    expect(failures[0]!.context).toMatchObject({ stage: 'receive', deadLetter: true, messageId: command.id });

    const [listed] = await app.deadLetters.list();
    expect(listed).toMatchObject({
      transport: 'dlq',
      id: command.id,
      name: 'RegisterUser',
      code: ErrorCode.HandlerFailed,
      origin: { transport: 'bus', kind: 'in-memory' },
      attempts: 1,
    });
    expect(listed!.message?.metadata[DEAD_LETTER]).toBeUndefined();
    expect(await app.deadLetters.count()).toBe(1);
    expect(app.deadLetters.transports).toEqual(['dlq']);

    fix();
    expect(await app.deadLetters.replay('dlq', command.id)).toBe(true);
    await until(() => registered.length === 1);
    expect(registered).toEqual(['u1']);
    expect(await app.deadLetters.count()).toBe(0);
    expect(await app.deadLetters.replay('dlq', command.id)).toBe(false);
  });

  it('keeps a validation failure with its code, and an event whose listener failed; purge deletes them', async () => {
    const { app, dlq } = await serviceWithSink();
    // Sent by name so the sender does not validate it: the consumer refuses it.
    const invalid = RegisterUser.create({ userId: 'u2', email: 'no-at-sign' });
    await app.commandBus.dispatch(invalid);
    await app.eventBus.dispatch(UserRegistered.create({ userId: 'u2' }));
    await until(() => dlq.stored.size === 2);
    const letters = await app.deadLetters.list({ transport: 'dlq' });
    const byName = Object.fromEntries(letters.map((letter) => [letter.name, letter]));
    expect(byName.RegisterUser!.code).toBe(ErrorCode.ValidationError);
    expect(byName.RegisterUser!.error).toMatch(/^SWITCHYARD_VALIDATION_ERROR: /);
    expect(byName.UserRegistered!.error).toContain('listener down');
    expect(await app.deadLetters.purge('dlq', invalid.id)).toBe(1);
    expect(await app.deadLetters.purge('dlq')).toBe(1);
    expect(await app.deadLetters.count('dlq')).toBe(0);
  });

  it('never dead-letters a query (its caller gets the error) or an expired message', async () => {
    const { app, dlq, failures } = await serviceWithSink();
    await expect(app.queryBus.dispatch(GetUser.create({ userId: 'u1' }))).rejects.toThrow('no users today');
    await app.commandBus
      .dispatch(RegisterUser.create({ userId: 'u3', email: 'a@b' }), { timeoutMs: 1 })
      .catch(() => {});
    await until(() => failures.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect([...dlq.stored.values()].map((entry) => entry.name)).not.toContain('GetUser');
    expect(failures.find((f) => f.context.messageName === 'GetUser')?.context.deadLetter).toBeUndefined();
  });

  it('reports a sink that fails with both errors, and the consumer goes on', async () => {
    const { app, failures, fix, registered } = await serviceWithSink({ failingSink: true });
    await app.commandBus.dispatch(RegisterUser.create({ userId: 'u4', email: 'a@b' }));
    await until(() => failures.length === 2);
    const sinkFailure = failures[1]!.error as AggregateError;
    expect(sinkFailure).toBeInstanceOf(AggregateError);
    expect(sinkFailure.message).toContain('could not be handed to the sink: the sink is down');
    expect(sinkFailure.errors.map(String)).toEqual([
      'Error: the sink is down',
      'DispatchError: Dispatch of "RegisterUser" failed in invoke-handler: cannot register u4',
    ]);
    fix();
    await app.commandBus.dispatch(RegisterUser.create({ userId: 'u5', email: 'a@b' }));
    await until(() => registered.length === 1);
  });

  it('tells the instrumentation once the letter is kept', async () => {
    const seen: string[] = [];
    const uninstall = installInstrumentation({
      deadLetter: (o) => seen.push(`${o.transport}:${o.message?.name}`),
    });
    try {
      const { app, dlq } = await serviceWithSink();
      await app.commandBus.dispatch(RegisterUser.create({ userId: 'u6', email: 'a@b' }));
      await until(() => dlq.stored.size === 1 && seen.length === 1);
      expect(seen).toEqual(['in-memory:RegisterUser']);
    } finally {
      uninstall();
    }
  });

  it('keeps undecodable input as a letter with its raw envelope, which cannot be replayed', async () => {
    const dlq = memoryQueue();
    const channel = new InMemoryChannel();
    const consumer = new InMemoryConsumer({ channel, deadLetterSink: dlq.producer, onError: () => {} });
    await consumer.start();
    channel.send({ data: '{"v":1,"not":"a message"', reply: undefined, signal: undefined });
    await until(() => dlq.stored.size === 1);
    await consumer.close();
    const app = createSwitchyard({ transports: { dlq: dlq.definition }, deadLetters: 'dlq' });
    opened.push(app);
    const [letter] = await app.deadLetters.list();
    expect(letter).toMatchObject({
      name: UNDECODABLE,
      message: undefined,
      envelope: '{"v":1,"not":"a message"',
    });
    expect(letter!.code).toBe(ErrorCode.DecodeError);
    const refused = await app.deadLetters.replay('dlq', letter!.id).catch((error: unknown) => error);
    expect(isSwitchyardError(refused) && refused.code).toBe(ErrorCode.DecodeError);
    expect(await app.deadLetters.count()).toBe(1);
  });

  it('refuses a sink that is not durable, a topic, unknown, or carries routed messages', async () => {
    const channel = new InMemoryChannel();
    const notDurable: MessageProducer = {
      capabilities: { replies: false, confirmsHandling: false, durable: false },
      produce: async () => {},
      close: async () => {},
    };
    expect(() => new InMemoryConsumer({ channel, deadLetterSink: notDurable })).toThrow(ConfigurationError);
    expect(() => new InMemoryConsumer({ channel, deadLetterSink: {} as MessageProducer })).toThrow(
      /MessageProducer/,
    );
    const dlq = memoryQueue().definition;
    expect(() => createSwitchyard({ transports: { bus: inMemoryTransport() }, deadLetters: 'bus' })).toThrow(
      /not durable/,
    );
    expect(() => createSwitchyard({ transports: { dlq }, deadLetters: 'nope' as 'dlq' })).toThrow(
      /unknown transport "nope"/,
    );
    expect(() =>
      createSwitchyard({
        transports: { dlq },
        routes: { RegisterUser: 'dlq' },
        definitions: [RegisterUser],
        deadLetters: 'dlq',
      }),
    ).toThrow(/holds dead letters only: "RegisterUser"/);
    const topic = defineTransport({
      kind: 'topic',
      capabilities: { replies: false, confirmsHandling: false, durable: true, fanOut: true },
      producer: undefined,
      consumer: undefined,
      storedMessages: memoryQueue().definition.storedMessages,
    });
    expect(() => createSwitchyard({ transports: { topic }, deadLetters: 'topic' })).toThrow(/is a topic/);
    const none = createSwitchyard({ transports: {} });
    opened.push(none);
    await expect(none.deadLetters.list({ transport: 'x' })).rejects.toThrow(
      /No dead letters are kept on "x"/,
    );
  });

  it('a consumer that keeps its own dead letters refuses a sink', () => {
    class Durable extends InMemoryConsumer {
      protected override get keepsDeadLetters(): boolean {
        return true;
      }
    }
    expect(
      () => new Durable({ channel: new InMemoryChannel(), deadLetterSink: memoryQueue().producer }),
    ).toThrow(/keeps its own dead letters/);
  });
});

describe('routing table', () => {
  it('lists every message, its transport and what this process does with it', () => {
    const app = createSwitchyard({
      transports: { bus: inMemoryTransport(), dlq: memoryQueue().definition },
      definitions: [GetUser],
      routes: { RegisterUser: 'bus', GetUser: 'bus' },
      deadLetters: 'dlq',
      handlers: [handle(RegisterUser, () => {}), handle(UserRegistered, () => {})],
    });
    opened.push(app);
    expect(app.routing).toEqual([
      { message: 'GetUser', kind: 'query', transport: 'bus', adapter: 'in-memory', role: 'sends' },
      { message: 'RegisterUser', kind: 'command', transport: 'bus', adapter: 'in-memory', role: 'serves' },
      { message: 'UserRegistered', kind: 'event', transport: 'local', adapter: 'local', role: 'handles' },
    ]);
    expect(app.deadLetters.sink).toBe('dlq');
  });
});
