import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AnyMessage,
  CommandBus,
  CommandRouter,
  defineCommand,
  defineEvent,
  defineQuery,
  EventBus,
  EventRouter,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import type { Closable, TransportKit } from './transports.ts';

export const PlaceOrder = defineCommand<{ n: number }>('PlaceOrder');
export const FailOrder = defineCommand<{ n: number }>('FailOrder');
export const OrderPlaced = defineEvent<{ n: number }>('OrderPlaced');
export const ShipOrder = defineCommand<{ n: number }>('ShipOrder');
export const GetStock = defineQuery<{ n: number }, { stock: number }>('GetStock');

/** An error with an application code, thrown by the remote FailOrder handler. */
export class OutOfStock extends Error {
  override readonly name = 'OutOfStock';
  readonly code = 'OUT_OF_STOCK';
}

/**
 * The remote service: handles PlaceOrder (and dispatches OrderPlaced, which goes back over the
 * transport to `backAddress`) and FailOrder (throws). `seen` gets every message its handlers got.
 */
export async function startRemoteSide(
  kit: TransportKit,
  backAddress: string,
  seen: (label: string, message: AnyMessage) => void,
): Promise<{ address: string; close(): Promise<void> }> {
  const back = kit.producer(backAddress);
  const eventRoutes = new EventRouter();
  eventRoutes.route(OrderPlaced).to(back);
  const events = new EventBus();
  events.use(eventRoutes);
  const routes = new CommandRouter();
  routes.route(PlaceOrder).to(async (command) => {
    seen('remote PlaceOrder', command);
    await sleep(2);
    await events.dispatch(OrderPlaced.create({ n: command.payload.n }));
  });
  routes.route(FailOrder).to(async (command) => {
    seen('remote FailOrder', command);
    await sleep(1);
    throw new OutOfStock(`order ${command.payload.n} is out of stock`);
  });
  const commands = new CommandBus();
  commands.use(routes);
  const finders = new QueryRouter();
  finders.route(GetStock).to(async (query) => {
    seen('remote GetStock', query);
    return { stock: query.payload.n * 10 };
  });
  const queries = new QueryBus();
  queries.use(finders);
  const { address, consumer } = await kit.consumer({ commandBus: commands, queryBus: queries }, 'commands');
  return {
    address,
    close: async () => {
      await consumer.close();
      await back.close();
    },
  };
}

/** The sending service: its event consumer must be up before the remote side sends back to it. */
export async function startLocalSide(kit: TransportKit) {
  const seen = new Map<string, AnyMessage>();
  let shipped!: (message: AnyMessage) => void;
  const whenShipped = new Promise<AnyMessage>((resolve) => {
    shipped = resolve;
  });
  const commands = new CommandBus();
  const commandRoutes = new CommandRouter();
  commandRoutes.route(ShipOrder).to((command) => {
    seen.set('local ShipOrder', command);
    shipped(command);
  });
  commands.use(commandRoutes);
  const events = new EventBus();
  const eventRoutes = new EventRouter();
  eventRoutes.route(OrderPlaced).to(async (event) => {
    seen.set('local OrderPlaced', event);
    await commands.dispatch(ShipOrder.create({ n: event.payload.n }));
  });
  events.use(eventRoutes);
  const { address: backAddress, consumer } = await kit.consumer({ eventBus: events }, 'events');
  let producer: Closable | undefined;
  const queries = new QueryBus();
  const queryRoutes = new QueryRouter();
  queries.use(queryRoutes);
  return {
    seen,
    whenShipped,
    backAddress,
    commands,
    queries,
    /** Routes PlaceOrder and FailOrder to the remote side. */
    connect(remoteAddress: string): void {
      const toRemote = kit.producer(remoteAddress);
      producer = toRemote;
      commandRoutes.route(PlaceOrder).to(toRemote);
      commandRoutes.route(FailOrder).to(toRemote);
      if (toRemote.capabilities.replies) queryRoutes.route(GetStock).to(toRemote);
    },
    async close(): Promise<void> {
      await consumer.close();
      await producer?.close();
    },
  };
}
