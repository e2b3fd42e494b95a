/**
 * What every transport scenario shares: the two message types, the receiving buses (Ping counted,
 * Add answered), the sending buses routed to the producer under test, and the envelope a raw client
 * writes by hand for the baseline.
 */
import { randomUUID } from 'node:crypto';
import {
  CommandBus,
  CommandRouter,
  defineCommand,
  defineQuery,
  type MessageProducer,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';

export const Ping = defineCommand<{ n: number }>('bench.Ping');
export const Add = defineQuery<{ a: number; b: number }, { sum: number }>('bench.Add');

/** The receiving side: counts handled Pings, answers Add with the sum. */
export function receivingBuses() {
  let handled = 0;
  const commands = new CommandRouter();
  commands.route(Ping).to(() => {
    handled++;
  });
  const queries = new QueryRouter();
  queries.route(Add).to((query) => ({ sum: query.payload.a + query.payload.b }));
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, queryBus, handled: () => handled };
}

/** The sending side: Ping and Add routed to `producer`. */
export function sendingBuses(producer: MessageProducer) {
  const commands = new CommandRouter();
  commands.route(Ping).to(producer);
  const queries = new QueryRouter();
  queries.route(Add).to(producer);
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, queryBus };
}

/** A v1 envelope written by hand, as a raw client of the transport would send it. */
export function rawEnvelope(
  kind: 'command' | 'query',
  name: string,
  payload: unknown,
  id: string = randomUUID(),
): string {
  return JSON.stringify({ v: 1, id, kind, name, payload, metadata: {}, createdAt: new Date().toISOString() });
}
