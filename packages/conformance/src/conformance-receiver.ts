import {
  type AnyMessage,
  CommandBus,
  CommandRouter,
  type ErrorContext,
  EventBus,
  EventRouter,
  type HandlerContext,
  type MessageProducer,
  type ProduceOptions,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { DomainError, Fixtures } from './fixtures.ts';
import { sleep } from './wait-for.ts';

/** What the receiving side saw, for the assertions. */
export interface Recorded {
  readonly commands: AnyMessage[];
  readonly events: { listener: string; message: AnyMessage }[];
  /** Messages a receiving route tried to send on again (must stay empty). */
  readonly reproduced: AnyMessage[];
  /** Handler runs by message name (started, not necessarily finished). */
  readonly runs: Map<string, number>;
  /** Tags of handlers whose `signal` fired, with the time it fired. */
  readonly signals: Map<string, number>;
  /** Deadlines handlers were given, by tag. */
  readonly deadlines: Map<string, number | undefined>;
  /** Tags of slow commands whose handler finished. */
  readonly finished: string[];
  /** Everything the consumer reported to `onError`. */
  readonly consumerErrors: { error: unknown; context: ErrorContext }[];
  /** Everything the producer reported to `onError`. */
  readonly producerErrors: { error: unknown; context: ErrorContext }[];
}

export function newRecorded(): Recorded {
  return {
    commands: [],
    events: [],
    reproduced: [],
    runs: new Map(),
    signals: new Map(),
    deadlines: new Map(),
    finished: [],
    consumerErrors: [],
    producerErrors: [],
  };
}

function ran(recorded: Recorded, name: string): void {
  recorded.runs.set(name, (recorded.runs.get(name) ?? 0) + 1);
}

/** Records when `context.signal` fires; resolves when it fired or after `maxMs`. */
function watch(recorded: Recorded, tag: string, context: HandlerContext, maxMs: number): Promise<boolean> {
  recorded.deadlines.set(tag, context.deadline);
  return new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => {
      context.signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, maxMs);
    const onAbort = (): void => {
      clearTimeout(timer);
      recorded.signals.set(tag, Date.now());
      resolve(true);
    };
    if (context.signal.aborted) onAbort();
    else context.signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A producer that must never be called: receiving routes point at it to prove arrivals are not re-produced. */
function spyProducer(recorded: Recorded): MessageProducer {
  return {
    capabilities: { replies: true, confirmsHandling: true, durable: false },
    async produce(message: AnyMessage, options?: ProduceOptions) {
      recorded.reproduced.push(message);
      options?.deferred?.reject(new Error('re-produced'));
    },
    async close() {},
  };
}

/** The receiving side's buses, with the fixture handlers. */
export function buildReceivingBuses(recorded: Recorded) {
  const spy = spyProducer(recorded);
  const commands = new CommandRouter();
  commands
    .route(Fixtures.Command)
    .to((command) => {
      recorded.commands.push(command);
    })
    .to(spy);
  commands.route(Fixtures.FailCommand).to((command) => {
    ran(recorded, command.name);
    throw new DomainError(command.payload.reason);
  });
  commands.route(Fixtures.ValidatedCommand).to((command) => {
    ran(recorded, command.name);
  });
  commands.route(Fixtures.SlowCommand).to(async (command, context) => {
    ran(recorded, command.name);
    await watch(recorded, command.payload.tag, context, command.payload.delayMs);
    recorded.finished.push(command.payload.tag);
  });
  const events = new EventRouter();
  events
    .route(Fixtures.Event)
    .to((event) => {
      recorded.events.push({ listener: 'first', message: event });
    })
    .andTo({
      onEvent: (event) => {
        recorded.events.push({ listener: 'second', message: event });
      },
    })
    .andTo(spy);
  const queries = new QueryRouter();
  queries
    .route(Fixtures.Add)
    .to((query) => ({ sum: query.payload.a + query.payload.b }))
    .to(spy);
  queries.route(Fixtures.Echo).to((query) => query.payload);
  queries.route(Fixtures.Slow).to(async (query) => {
    ran(recorded, query.name);
    await sleep(query.payload.delayMs);
    return { tag: query.payload.tag };
  });
  queries.route(Fixtures.Fail).to((query) => {
    throw new DomainError(query.payload.reason);
  });
  queries.route(Fixtures.Validated).to((query) => ({ doubled: query.payload.count * 2 }));
  queries.route(Fixtures.Counted).to((query) => {
    ran(recorded, query.name);
    return { tag: query.payload.tag };
  });
  queries.route(Fixtures.Watch).to(async (query, context) => {
    ran(recorded, query.name);
    return { fired: await watch(recorded, query.payload.tag, context, query.payload.maxMs) };
  });
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const eventBus = new EventBus();
  eventBus.use(events);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, eventBus, queryBus };
}

/** The sending side: every fixture routed to the producer under test. */
export function buildSendingBuses(producer: MessageProducer) {
  const commands = new CommandRouter();
  for (const definition of [
    Fixtures.Command,
    Fixtures.FailCommand,
    Fixtures.ValidatedCommand,
    Fixtures.SlowCommand,
  ]) {
    commands.route(definition.name).to(producer);
  }
  const events = new EventRouter();
  events.route(Fixtures.Event).to(producer);
  const queries = new QueryRouter();
  for (const definition of [
    Fixtures.Add,
    Fixtures.Echo,
    Fixtures.Slow,
    Fixtures.Fail,
    Fixtures.Unrouted,
    Fixtures.Validated,
    Fixtures.Counted,
    Fixtures.Watch,
  ]) {
    queries.route(definition.name).to(producer);
  }
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const eventBus = new EventBus();
  eventBus.use(events);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, eventBus, queryBus };
}
