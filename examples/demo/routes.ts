import {
  CommandBus,
  CommandRouter,
  EventBus,
  EventRouter,
  type MessageProducer,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import type { Handlers } from './handlers.ts';
import { CountUsers, GetUser, RegisterUser, SendWelcomeMail, UserRegistered } from './messages.ts';

/** Which producer carries which messages. Changing a transport is changing one line here. */
export interface Transports {
  readonly durable: MessageProducer; // BullMQ when Redis answers, else in-memory
  readonly http: MessageProducer;
  readonly zeromq: MessageProducer;
  readonly inMemory: MessageProducer;
}

/**
 * The one routing module both processes run. The web process dispatches and its producers carry the
 * messages; the users service receives them, and because they arrived from a transport they go to
 * the local handlers — never back to a producer.
 */
export function createBuses(transports: Transports, handlers: Handlers) {
  const commands = new CommandRouter();
  commands.route(RegisterUser).to(handlers.registerUser).to(transports.durable);
  commands.route(SendWelcomeMail).to(handlers.sendWelcomeMail).to(transports.inMemory);

  const events = new EventRouter();
  events.route(UserRegistered).to(handlers.onUserRegistered).andTo(transports.inMemory);

  const queries = new QueryRouter();
  queries.route(GetUser).to(handlers.getUser).to(transports.http);
  queries.route(CountUsers).to(handlers.countUsers).to(transports.zeromq);

  const commandBus = new CommandBus();
  commandBus.use(commands);
  const eventBus = new EventBus();
  eventBus.use(events);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, eventBus, queryBus };
}
