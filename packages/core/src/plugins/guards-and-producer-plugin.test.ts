import { describe, expect, it } from 'vitest';
import { CommandBus } from '../command-bus.ts';
import { defineCommand, defineEvent, defineQuery } from '../definitions.ts';
import { type DispatchError, ErrorCode } from '../errors.ts';
import { EventBus } from '../event-bus.ts';
import { type AnyMessage, RECEIVED_FROM, withMetadata } from '../message.ts';
import type { MessageProducer, ProduceOptions } from '../message-producer.ts';
import { QueryBus } from '../query-bus.ts';
import { CommandRouter } from './command-router.ts';
import { EventRouter } from './event-router.ts';
import { FinalizeGuard } from './finalize-guard.ts';
import { MessageProducerPlugin } from './message-producer-plugin.ts';
import { QueryRouter } from './query-router.ts';
import { RouteGuard } from './route-guard.ts';

const Delete = defineCommand<{ id: string }>('Delete');
const Deleted = defineEvent<{ id: string }>('Deleted');
const Secret = defineQuery<{ owner: string }, { owner: string }>('Secret');

function producer(replies = true) {
  const produced: AnyMessage[] = [];
  return {
    produced,
    capabilities: { replies, confirmsHandling: false, durable: false },
    async produce(message: AnyMessage, options?: ProduceOptions) {
      produced.push(message);
      options?.deferred?.resolve('remote');
    },
    async close() {},
  } satisfies MessageProducer & { produced: AnyMessage[] };
}

describe('RouteGuard', () => {
  it('refuses before the handler runs, with SWITCHYARD_UNAUTHORIZED in the route phase', async () => {
    const handled: string[] = [];
    const router = new CommandRouter();
    router.route(Delete).to((command) => {
      handled.push(command.payload.id);
    });
    const bus = new CommandBus();
    bus.use(router);
    bus.use(
      new RouteGuard(async (name, message) => name !== 'Delete' || (message as AnyMessage).payload !== null),
    );
    await bus.dispatch(Delete.create({ id: 'ok' }));
    bus.use(new RouteGuard(() => false));
    const error = (await bus.dispatch(Delete.create({ id: 'no' })).catch((e: unknown) => e)) as DispatchError;
    expect(error.code).toBe(ErrorCode.Unauthorized);
    expect(error.phase).toBe('route');
    expect(handled).toEqual(['ok']);
  });
});

describe('FinalizeGuard', () => {
  it('hides a result the caller may not see', async () => {
    const router = new QueryRouter();
    router.route(Secret).to((query) => ({ owner: query.payload.owner }));
    const bus = new QueryBus();
    bus.use(router);
    bus.use(new FinalizeGuard((_name, result) => (result as { owner: string }).owner === 'me'));
    await expect(bus.dispatch(Secret.create({ owner: 'me' }))).resolves.toEqual({ owner: 'me' });
    const error = (await bus
      .dispatch(Secret.create({ owner: 'you' }))
      .catch((e: unknown) => e)) as DispatchError;
    expect(error.code).toBe(ErrorCode.Unauthorized);
    expect(error.phase).toBe('finalize');
  });

  it('only attaches to a query bus', () => {
    expect(() => new CommandBus().use(new FinalizeGuard(() => true))).toThrowError(/query/);
  });
});

describe('MessageProducerPlugin', () => {
  it('sends every local command through one producer, overriding routes, but not arrivals', async () => {
    const sink = producer();
    const local: string[] = [];
    const router = new CommandRouter();
    router.route(Delete).to(() => {
      local.push('local');
    });
    const bus = new CommandBus();
    bus.use(router);
    bus.use(new MessageProducerPlugin(sink));
    await bus.dispatch(Delete.create({ id: '1' }));
    await bus.dispatchRaw({ name: 'Unrouted', id: 'x', kind: 'command' });
    expect(sink.produced.map((m) => m.name)).toEqual(['Delete', 'Unrouted']);
    await bus.dispatch(withMetadata(Delete.create({ id: '2' }), { [RECEIVED_FROM]: 'x' }));
    expect(local).toEqual(['local']);
  });

  it('replaces event listeners by the producer', async () => {
    const sink = producer();
    const local: string[] = [];
    const router = new EventRouter();
    router.route(Deleted).to(() => local.push('l'));
    const bus = new EventBus();
    bus.use(router);
    bus.use(new MessageProducerPlugin(sink));
    await bus.dispatch(Deleted.create({ id: '1' }));
    expect(sink.produced).toHaveLength(1);
    expect(local).toEqual([]);
  });

  it('answers queries through a replying producer and refuses one that cannot reply', async () => {
    const bus = new QueryBus();
    bus.use(new MessageProducerPlugin(producer()));
    await expect(bus.dispatch(Secret.create({ owner: 'x' }))).resolves.toBe('remote');
    expect(() => new QueryBus().use(new MessageProducerPlugin(producer(false)))).toThrowError(
      /carries replies/,
    );
  });
});
