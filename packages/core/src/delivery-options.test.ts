import { describe, expect, it } from 'vitest';
import { CommandBus } from './command-bus.ts';
import { defineCommand, defineQuery } from './definitions.ts';
import { ErrorCode, isSwitchyardError } from './errors.ts';
import { InMemoryChannel } from './in-memory/in-memory-channel.ts';
import { InMemoryConsumer } from './in-memory/in-memory-consumer.ts';
import { InMemoryProducer } from './in-memory/in-memory-producer.ts';
import { CommandRouter } from './plugins/command-router.ts';
import { QueryRouter } from './plugins/query-router.ts';
import { QueryBus } from './query-bus.ts';

const Ship = defineCommand<{ n: number }>('Ship');
const Stock = defineQuery<{ n: number }, number>('Stock');

async function refusal(dispatch: Promise<unknown>): Promise<Error> {
  const error = await dispatch.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isSwitchyardError(error, ErrorCode.InvalidConfiguration), String(error)).toBe(true);
  return error as Error;
}

describe('per-message delivery options', () => {
  it('are refused by a local handler, which cannot honour them — the handler does not run', async () => {
    const ran: number[] = [];
    const commands = new CommandRouter();
    commands.route(Ship).to((command) => void ran.push(command.payload.n));
    const commandBus = new CommandBus();
    commandBus.use(commands);
    const queries = new QueryRouter();
    queries.route(Stock).to(() => 3);
    const queryBus = new QueryBus();
    queryBus.use(queries);
    const error = await refusal(commandBus.dispatch(Ship.create({ n: 1 }), { delayMs: 1_000 }));
    expect(error.message).toContain(
      '"Ship" was dispatched with delayMs, which a local handler cannot honour',
    );
    await refusal(queryBus.dispatch(Stock.create({ n: 1 }), { priority: 2 }));
    await commandBus.dispatch(Ship.create({ n: 2 }));
    expect(ran).toEqual([2]);
  });

  it('are refused by a transport that does not support them (in-memory), naming the producer', async () => {
    const channel = new InMemoryChannel();
    const ran: number[] = [];
    const remote = new CommandRouter();
    remote.route(Ship).to((command) => void ran.push(command.payload.n));
    const remoteBus = new CommandBus();
    remoteBus.use(remote);
    const consumer = new InMemoryConsumer({ channel, commandBus: remoteBus });
    await consumer.start();
    const producer = new InMemoryProducer({ channel });
    const commands = new CommandRouter();
    commands.route(Ship).to(producer);
    const commandBus = new CommandBus();
    commandBus.use(commands);
    try {
      const error = await refusal(commandBus.dispatch(Ship.create({ n: 1 }), { dedupeKey: 'order-1' }));
      expect(error.message).toContain('dedupeKey, which the InMemoryProducer cannot honour');
      await commandBus.dispatch(Ship.create({ n: 2 }));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(ran).toEqual([2]);
    } finally {
      await producer.close();
      await consumer.close();
    }
  });

  it('refuses values out of range before anything runs', async () => {
    const commandBus = new CommandBus();
    await refusal(commandBus.dispatch(Ship.create({ n: 1 }), { delayMs: -1 }));
    await refusal(commandBus.dispatch(Ship.create({ n: 1 }), { priority: 0 }));
    await refusal(commandBus.dispatch(Ship.create({ n: 1 }), { priority: 1.5 }));
    await refusal(commandBus.dispatch(Ship.create({ n: 1 }), { dedupeKey: '' }));
  });
});
