import { describe, expect, it } from 'vitest';
import { CommandBus } from '../command-bus.ts';
import { defineCommand, defineQuery } from '../definitions.ts';
import { ErrorCode, isSwitchyardError } from '../errors.ts';
import { CommandRouter } from '../plugins/command-router.ts';
import { QueryRouter } from '../plugins/query-router.ts';
import { QueryBus } from '../query-bus.ts';
import { InMemoryChannel } from './in-memory-channel.ts';
import { InMemoryConsumer } from './in-memory-consumer.ts';
import { InMemoryProducer } from './in-memory-producer.ts';

const Work = defineCommand<{ n: number }>('Work');
const Ask = defineQuery<{ n: number }, number>('Ask');

describe('in-memory transport', () => {
  it('rejects a dispatch when no consumer listens, instead of dropping it', async () => {
    const producer = new InMemoryProducer({ channel: new InMemoryChannel() });
    const router = new CommandRouter();
    router.route(Work).to(producer);
    const bus = new CommandBus();
    bus.use(router);
    const error = await bus.dispatch(Work.create({ n: 1 })).catch((e: unknown) => e);
    expect(isSwitchyardError(error, ErrorCode.TransportError)).toBe(true);
    const queries = new QueryRouter();
    queries.route(Ask).to(producer);
    const queryBus = new QueryBus();
    queryBus.use(queries);
    await expect(queryBus.dispatch(Ask.create({ n: 1 }))).rejects.toMatchObject({
      code: ErrorCode.TransportError,
    });
    expect(producer.pendingReplies).toBe(0);
  });

  it('shares work between consumers and waits for in-flight work on close', async () => {
    const channel = new InMemoryChannel();
    const seen: string[] = [];
    const consumers = ['a', 'b'].map((label) => {
      const router = new CommandRouter();
      router.route(Work).to(async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        seen.push(label);
      });
      const commandBus = new CommandBus();
      commandBus.use(router);
      return new InMemoryConsumer({ channel, commandBus });
    });
    await Promise.all(consumers.map((consumer) => consumer.start()));
    const producer = new InMemoryProducer({ channel });
    for (let n = 0; n < 4; n++) await producer.produce(Work.create({ n }));
    await Promise.all(consumers.map((consumer) => consumer.close()));
    expect(seen.sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(channel.consumers).toBe(0);
  });

  it('reports failures of commands to onError and keeps serving', async () => {
    const channel = new InMemoryChannel();
    const errors: unknown[] = [];
    const router = new CommandRouter();
    let calls = 0;
    router.route(Work).to(() => {
      calls++;
      if (calls === 1) throw new Error('first fails');
    });
    const commandBus = new CommandBus();
    commandBus.use(router);
    const consumer = new InMemoryConsumer({ channel, commandBus, onError: (error) => errors.push(error) });
    await consumer.start();
    const producer = new InMemoryProducer({ channel });
    await producer.produce(Work.create({ n: 1 }));
    await producer.produce(Work.create({ n: 2 }));
    await consumer.close();
    expect(calls).toBe(2);
    expect(errors).toHaveLength(1);
  });
});
