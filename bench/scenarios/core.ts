/**
 * Core pipeline overhead: Switchyard's full pipeline (router → async handler) against a direct call
 * of the same handler and against @nestjs/cqrs, measured side by side in one run. `pnpm bench` runs
 * it with NODE_ENV=production (messages not frozen); the last row measures frozen messages, as
 * development and tests create them.
 */
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import {
  CommandHandler,
  CqrsModule,
  EventsHandler,
  CommandBus as NestCommandBus,
  EventBus as NestEventBus,
  QueryBus as NestQueryBus,
  QueryHandler,
} from '@nestjs/cqrs';
import {
  CommandBus,
  CommandRouter,
  defineCommand,
  defineEvent,
  defineQuery,
  EventBus,
  EventRouter,
  freezeMessages,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { compareThroughput } from '../lib/measure.ts';
import type { BenchResult, BenchScenario } from '../lib/types.ts';

const OPS = Number(process.env.OPS ?? 100_000);
let handled = 0;
let heard = 0;
const handle = async (_payload: { n: number }) => {
  handled++;
};
const find = async (payload: { n: number }) => ({ doubled: payload.n * 2 });
/** Resolved when `heard` reaches its target: lets a sequential loop wait for fire-and-forget listeners. */
let waiter: { target: number; resolve: () => void } | undefined;
const listen = async (_payload: { n: number }) => {
  heard++;
  if (waiter !== undefined && heard >= waiter.target) {
    const { resolve } = waiter;
    waiter = undefined;
    resolve();
  }
};

// --- Switchyard -----------------------------------------------------------------------------
const Register = defineCommand<{ n: number }>('Register');
const Double = defineQuery<{ n: number }, { doubled: number }>('Double');
const Registered = defineEvent<{ n: number }>('Registered');

/**
 * The buses. `correlation: false` is what a purely in-process app gets by default; the bench runs
 * after other scenarios that created transports (which turn the automatic scope on for the process),
 * so it is said explicitly, and one row measures the scope on.
 */
function switchyard(correlation = false) {
  const commands = new CommandRouter();
  commands.route(Register).to((command) => handle(command.payload));
  const queries = new QueryRouter();
  queries.route(Double).to((query) => find(query.payload));
  const events = new EventRouter();
  events
    .route(Registered)
    .to((event) => listen(event.payload))
    .andTo((event) => listen(event.payload))
    .andTo((event) => listen(event.payload));
  const commandBus = new CommandBus({ correlation });
  commandBus.use(commands);
  const queryBus = new QueryBus({ correlation });
  queryBus.use(queries);
  const eventBus = new EventBus({ correlation });
  eventBus.use(events);
  return { commandBus, queryBus, eventBus };
}

// --- @nestjs/cqrs ----------------------------------------------------------------------------
// Decorators applied as plain calls: Node runs this file with type stripping, which has no decorators.
class NestRegister {
  readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
}
/** A Nest command that carries what a Switchyard message carries: a UUID and a creation time. */
class NestRegisterWithId {
  readonly id = randomUUID();
  readonly createdAt = new Date();
  readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
}
class NestDouble {
  readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
}
class NestRegistered {
  readonly n: number;
  constructor(n: number) {
    this.n = n;
  }
}
class NestRegisterHandler {
  execute(command: NestRegister) {
    return handle(command);
  }
}
class NestRegisterWithIdHandler {
  execute(command: NestRegisterWithId) {
    return handle(command);
  }
}
class NestDoubleHandler {
  execute(query: NestDouble) {
    return find(query);
  }
}
class NestListenerA {
  handle(event: NestRegistered) {
    return listen(event);
  }
}
class NestListenerB extends NestListenerA {}
class NestListenerC extends NestListenerA {}
CommandHandler(NestRegister)(NestRegisterHandler);
CommandHandler(NestRegisterWithId)(NestRegisterWithIdHandler);
QueryHandler(NestDouble)(NestDoubleHandler);
for (const listener of [NestListenerA, NestListenerB, NestListenerC]) EventsHandler(NestRegistered)(listener);
class NestApp {}
Module({
  imports: [CqrsModule.forRoot()],
  providers: [
    NestRegisterHandler,
    NestRegisterWithIdHandler,
    NestDoubleHandler,
    NestListenerA,
    NestListenerB,
    NestListenerC,
  ],
})(NestApp);

async function nest() {
  const app = await NestFactory.createApplicationContext(NestApp, { logger: false });
  await app.init();
  return {
    app,
    commandBus: app.get(NestCommandBus),
    queryBus: app.get(NestQueryBus),
    eventBus: app.get(NestEventBus),
  };
}

export const scenario: BenchScenario = {
  id: 'core',
  async run() {
    const sy = switchyard();
    const ns = await nest();
    const rows: BenchResult[] = [];
    const sequential = (once: (n: number) => Promise<unknown>) => async (ops: number) => {
      for (let n = 0; n < ops; n++) await once(n);
    };
    const command = sequential((n) => sy.commandBus.dispatch(Register.create({ n })));
    const query = sequential((n) => sy.queryBus.dispatch(Double.create({ n })));
    const nestCommandWithId = {
      name: '@nestjs/cqrs, command with UUID + Date',
      run: sequential((n) => ns.commandBus.execute(new NestRegisterWithId(n))),
    };
    const event = sequential((n) => sy.eventBus.dispatch(Registered.create({ n })));
    rows.push(
      await compareThroughput({
        name: 'core: command dispatch incl. creating the message, router → async handler',
        ops: OPS,
        subject: { name: 'switchyard', run: command },
        baseline: {
          name: '@nestjs/cqrs CommandBus',
          run: sequential((n) => ns.commandBus.execute(new NestRegister(n))),
        },
      }),
      await compareThroughput({
        name: 'core: command dispatch incl. creating the message, router → async handler',
        ops: OPS,
        subject: { name: 'switchyard', run: command },
        baseline: nestCommandWithId,
      }),
      await compareThroughput({
        name: 'core: command dispatch incl. creating the message, router → async handler',
        ops: OPS,
        subject: { name: 'switchyard', run: command },
        baseline: { name: 'direct handler call', run: sequential((n) => handle({ n })) },
      }),
      await compareThroughput({
        name: 'core: query dispatch incl. creating the message',
        ops: OPS,
        subject: { name: 'switchyard', run: query },
        baseline: {
          name: '@nestjs/cqrs QueryBus',
          run: sequential((n) => ns.queryBus.execute(new NestDouble(n))),
        },
      }),
      await compareThroughput({
        name: 'core: query dispatch incl. creating the message',
        ops: OPS,
        subject: { name: 'switchyard', run: query },
        baseline: { name: 'direct finder call', run: sequential((n) => find({ n })) },
      }),
      await compareThroughput({
        name: 'core: event dispatch to 3 listeners (all ran)',
        ops: OPS,
        subject: { name: 'switchyard', run: event },
        baseline: {
          name: '@nestjs/cqrs EventBus',
          // Nest's publish returns before its handlers run: wait for all three, one event at a time.
          run: sequential(
            (n) =>
              new Promise<void>((resolve) => {
                waiter = { target: heard + 3, resolve };
                ns.eventBus.publish(new NestRegistered(n));
              }),
          ),
        },
      }),
      await compareThroughput({
        name: 'core: event dispatch to 3 listeners (all ran)',
        ops: OPS,
        subject: { name: 'switchyard', run: event },
        baseline: {
          name: 'direct listener calls',
          run: sequential(async (n) => {
            await listen({ n });
            await listen({ n });
            await listen({ n });
          }),
        },
      }),
    );
    // The pipeline alone: both sides dispatch messages built beforehand. Ours carry a UUID and a
    // timestamp, which the rows above pay for on every dispatch and Nest's plain objects do not.
    // Built here, after the rows above, so those rows do not run with these arrays on the heap.
    const commands = Array.from({ length: OPS }, (_, n) => Register.create({ n }));
    const nestCommands = Array.from({ length: OPS }, (_, n) => new NestRegister(n));
    rows.push(
      await compareThroughput({
        name: 'core: command dispatch, prebuilt messages',
        ops: OPS,
        subject: { name: 'switchyard', run: sequential((n) => sy.commandBus.dispatch(commands[n]!)) },
        baseline: {
          name: '@nestjs/cqrs CommandBus',
          run: sequential((n) => ns.commandBus.execute(nestCommands[n]!)),
        },
      }),
    );
    const correlated = switchyard(true);
    rows.push(
      await compareThroughput({
        name: 'core: command dispatch, prebuilt messages, correlation scope on (a process that uses a transport)',
        ops: OPS,
        subject: { name: 'switchyard', run: sequential((n) => correlated.commandBus.dispatch(commands[n]!)) },
        baseline: {
          name: '@nestjs/cqrs CommandBus',
          run: sequential((n) => ns.commandBus.execute(nestCommands[n]!)),
        },
      }),
    );
    commands.length = 0;
    nestCommands.length = 0;
    const queries = Array.from({ length: OPS }, (_, n) => Double.create({ n }));
    const nestQueries = Array.from({ length: OPS }, (_, n) => new NestDouble(n));
    rows.push(
      await compareThroughput({
        name: 'core: query dispatch, prebuilt messages',
        ops: OPS,
        subject: { name: 'switchyard', run: sequential((n) => sy.queryBus.dispatch(queries[n]!)) },
        baseline: {
          name: '@nestjs/cqrs QueryBus',
          run: sequential((n) => ns.queryBus.execute(nestQueries[n]!)),
        },
      }),
    );
    queries.length = 0;
    nestQueries.length = 0;
    // Last, so the frozen messages' hidden class does not reach the rows above: the cost of
    // `Object.freeze` per message, which development and tests pay (NODE_ENV is not "production").
    const wasFrozen = freezeMessages(true);
    rows.push(
      await compareThroughput({
        name: 'core: command dispatch incl. creating the message, messages frozen (outside production)',
        ops: OPS,
        subject: { name: 'switchyard', run: command },
        baseline: nestCommandWithId,
      }),
    );
    freezeMessages(wasFrozen);
    await ns.app.close();
    if (handled === 0) throw new Error('no command was handled');
    return rows;
  },
};
