import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { CommandBus } from '../command-bus.ts';
import { defineCommand, defineEvent, defineQuery } from '../definitions.ts';
import { EventBus } from '../event-bus.ts';
import { InMemoryChannel } from '../in-memory/in-memory-channel.ts';
import { InMemoryConsumer } from '../in-memory/in-memory-consumer.ts';
import { InMemoryProducer } from '../in-memory/in-memory-producer.ts';
import { type AnyMessage, receivedFrom, withMetadata } from '../message.ts';
import { CommandRouter } from '../plugins/command-router.ts';
import { EventRouter } from '../plugins/event-router.ts';
import { QueryRouter } from '../plugins/query-router.ts';
import { QueryBus } from '../query-bus.ts';
import {
  CAUSATION_ID,
  CORRELATION_ID,
  causationIdOf,
  correlationIdOf,
  handledMessage,
} from './handling-scope.ts';

const PlaceOrder = defineCommand<{ n: number }>('PlaceOrder');
const OrderPlaced = defineEvent<{ n: number }>('OrderPlaced');
const ShipOrder = defineCommand<{ n: number }>('ShipOrder');
const GetStock = defineQuery<{ n: number }, number>('GetStock');

describe('correlation and causation ids', () => {
  it('stamps every message dispatched inside a handler, across await, through the three buses', async () => {
    const seen = new Map<string, AnyMessage>();
    const commandBus = new CommandBus({ correlation: true });
    const eventBus = new EventBus({ correlation: true });
    const queryBus = new QueryBus({ correlation: true });
    const commands = new CommandRouter();
    commands.route(PlaceOrder).to(async (command) => {
      seen.set(command.name, command);
      await sleep(5);
      await queryBus.dispatch(GetStock.create({ n: command.payload.n }));
      await sleep(1);
      await eventBus.dispatch(OrderPlaced.create({ n: command.payload.n }));
    });
    commands.route(ShipOrder).to((command) => {
      seen.set(command.name, command);
      expect(handledMessage()).toBe(command);
    });
    const queries = new QueryRouter();
    queries.route(GetStock).to(async (query) => {
      seen.set(query.name, query);
      return 1;
    });
    const events = new EventRouter();
    events.route(OrderPlaced).to(async (event) => {
      seen.set(event.name, event);
      await sleep(1);
      await commandBus.dispatch(ShipOrder.create({ n: event.payload.n }));
    });
    commandBus.use(commands);
    eventBus.use(events);
    queryBus.use(queries);

    const root = PlaceOrder.create({ n: 1 });
    await commandBus.dispatch(root);
    expect(handledMessage()).toBeUndefined();
    const placed = seen.get('PlaceOrder')!;
    // The root is dispatched as it is: nothing to stamp, nothing allocated.
    expect(placed).toBe(root);
    expect(placed.metadata[CORRELATION_ID]).toBeUndefined();
    const stock = seen.get('GetStock')!;
    const event = seen.get('OrderPlaced')!;
    const ship = seen.get('ShipOrder')!;
    expect([correlationIdOf(stock), causationIdOf(stock)]).toEqual([root.id, root.id]);
    expect([correlationIdOf(event), causationIdOf(event)]).toEqual([root.id, root.id]);
    expect([correlationIdOf(ship), causationIdOf(ship)]).toEqual([root.id, event.id]);
  });

  it('keeps a correlation id the root already carries, and ids a child was given', async () => {
    const seen: AnyMessage[] = [];
    const bus = new CommandBus({ correlation: true });
    const router = new CommandRouter();
    router.route(PlaceOrder).to(async () => {
      await bus.dispatch(ShipOrder.create({ n: 1 }));
      await bus.dispatch(ShipOrder.create({ n: 2 }, { metadata: { [CAUSATION_ID]: 'given' } }));
    });
    router.route(ShipOrder).to((command) => {
      seen.push(command);
    });
    bus.use(router);
    await bus.dispatch(PlaceOrder.create({ n: 0 }, { metadata: { [CORRELATION_ID]: 'request-42' } }));
    expect(seen.map((m) => [correlationIdOf(m), causationIdOf(m)])).toEqual([
      ['request-42', expect.any(String)],
      ['request-42', 'given'],
    ]);
  });

  it('keeps concurrent conversations apart', async () => {
    const seen: AnyMessage[] = [];
    const bus = new CommandBus({ correlation: true });
    const router = new CommandRouter();
    router.route(PlaceOrder).to(async (command) => {
      await sleep(command.payload.n % 2 === 0 ? 5 : 1);
      await bus.dispatch(ShipOrder.create({ n: command.payload.n }));
    });
    router.route(ShipOrder).to((command) => {
      seen.push(command);
    });
    bus.use(router);
    const roots = [1, 2, 3, 4].map((n) => PlaceOrder.create({ n }));
    await Promise.all(roots.map((root) => bus.dispatch(root)));
    for (const ship of seen) {
      const root = roots.find((r) => r.payload.n === (ship.payload as { n: number }).n)!;
      expect([correlationIdOf(ship), causationIdOf(ship)]).toEqual([root.id, root.id]);
    }
    expect(seen).toHaveLength(4);
  });

  it('carries the ids across two hops of the in-memory transport', async () => {
    const toRemote = new InMemoryChannel();
    const back = new InMemoryChannel();
    const seen = new Map<string, AnyMessage>();

    // Remote side: handles PlaceOrder, publishes OrderPlaced back over the second channel.
    const remoteEvents = new EventBus();
    const remoteEventRoutes = new EventRouter();
    const backProducer = new InMemoryProducer({ channel: back });
    remoteEventRoutes.route(OrderPlaced).to(backProducer);
    remoteEvents.use(remoteEventRoutes);
    const remoteCommands = new CommandBus();
    const remoteRoutes = new CommandRouter();
    remoteRoutes.route(PlaceOrder).to(async (command) => {
      seen.set('remote PlaceOrder', command);
      await remoteEvents.dispatch(OrderPlaced.create({ n: command.payload.n }));
    });
    remoteCommands.use(remoteRoutes);
    const remoteConsumer = new InMemoryConsumer({ channel: toRemote, commandBus: remoteCommands });

    // Local side: sends PlaceOrder, hears OrderPlaced and ships locally.
    const localCommands = new CommandBus();
    const localRoutes = new CommandRouter();
    const producer = new InMemoryProducer({ channel: toRemote });
    localRoutes.route(PlaceOrder).to(producer);
    let shipped!: () => void;
    const done = new Promise<void>((resolve) => {
      shipped = resolve;
    });
    localRoutes.route(ShipOrder).to((command) => {
      seen.set('ShipOrder', command);
      shipped();
    });
    localCommands.use(localRoutes);
    const localEvents = new EventBus();
    const localEventRoutes = new EventRouter();
    localEventRoutes.route(OrderPlaced).to(async (event) => {
      seen.set('local OrderPlaced', event);
      await localCommands.dispatch(ShipOrder.create({ n: event.payload.n }));
    });
    localEvents.use(localEventRoutes);
    const localConsumer = new InMemoryConsumer({ channel: back, eventBus: localEvents });
    await Promise.all([remoteConsumer.start(), localConsumer.start()]);
    try {
      const root = PlaceOrder.create({ n: 7 });
      await localCommands.dispatch(root);
      await done;
      const arrived = seen.get('remote PlaceOrder')!;
      expect(arrived.id).toBe(root.id);
      expect(receivedFrom(arrived)).toBe('in-memory');
      expect(correlationIdOf(arrived)).toBeUndefined(); // the root travels as it is
      const event = seen.get('local OrderPlaced')!;
      expect(receivedFrom(event)).toBe('in-memory');
      expect([correlationIdOf(event), causationIdOf(event)]).toEqual([root.id, root.id]);
      const ship = seen.get('ShipOrder')!;
      expect([correlationIdOf(ship), causationIdOf(ship)]).toEqual([root.id, event.id]);
    } finally {
      await Promise.all([
        localConsumer.close(),
        remoteConsumer.close(),
        producer.close(),
        backProducer.close(),
      ]);
    }
  });

  it('does not re-stamp a message that arrived from a transport nor a message dispatched again', async () => {
    const seen: AnyMessage[] = [];
    const bus = new CommandBus({ correlation: true });
    const router = new CommandRouter();
    const arrived = withMetadata(ShipOrder.create({ n: 1 }), { 'switchyard.receivedFrom': 'http' });
    router.route(PlaceOrder).to(async () => {
      await bus.dispatch(arrived);
    });
    router.route(ShipOrder).to((command) => {
      seen.push(command);
    });
    bus.use(router);
    await bus.dispatch(PlaceOrder.create({ n: 0 }));
    expect(seen[0]).toBe(arrived);
  });

  it('stamps a hand-made message without metadata instead of failing on it', async () => {
    const seen: AnyMessage[] = [];
    const bus = new CommandBus({ correlation: true });
    const router = new CommandRouter();
    router.route(PlaceOrder).to(async () => {
      const handMade = { id: 'hand-made', kind: 'command', name: 'ShipOrder', payload: { n: 1 } };
      await bus.dispatch(handMade as never);
    });
    router.route(ShipOrder).to((command) => {
      seen.push(command);
    });
    bus.use(router);
    const root = PlaceOrder.create({ n: 0 });
    await bus.dispatch(root);
    expect([correlationIdOf(seen[0]!), causationIdOf(seen[0]!)]).toEqual([root.id, root.id]);
  });

  it('correlation: false calls handlers outside the scope: nothing is stamped', async () => {
    const events: AnyMessage[] = [];
    const eventBus = new EventBus();
    const eventRouter = new EventRouter();
    eventRouter.route(OrderPlaced).to((event) => void events.push(event));
    eventBus.use(eventRouter);
    const commandBus = new CommandBus({ correlation: false });
    const commands = new CommandRouter();
    commands.route(PlaceOrder).to(async (command) => {
      expect(handledMessage()).toBeUndefined();
      await eventBus.dispatch(OrderPlaced.create({ n: command.payload.n }));
    });
    commandBus.use(commands);
    await commandBus.dispatch(PlaceOrder.create({ n: 7 }));
    expect(events).toHaveLength(1);
    expect(correlationIdOf(events[0]!)).toBeUndefined();
    expect(causationIdOf(events[0]!)).toBeUndefined();
  });
});
