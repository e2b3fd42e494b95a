import { CommandBus } from '../command-bus.ts';
import {
  type AnyDefinition,
  type CommandDefinition,
  DefinitionRegistry,
  type EventDefinition,
  type QueryDefinition,
} from '../definitions.ts';
import { ConfigurationError } from '../errors.ts';
import { EventBus } from '../event-bus.ts';
import type { MessageKind } from '../message.ts';
import { CommandRouter } from '../plugins/command-router.ts';
import { type EventRouteOptions, EventRouter } from '../plugins/event-router.ts';
import { QueryRouter } from '../plugins/query-router.ts';
import { ValidateOnDispatch } from '../plugins/validate-on-dispatch.ts';
import { QueryBus } from '../query-bus.ts';
import type { ErrorReportingOptions } from '../transport/error-reporter.ts';
import {
  checkDeadLetterTransport,
  createDeadLetterAdmin,
  type DeadLetterAdmin,
  handsOffDeadLetters,
} from './dead-letter-admin.ts';
import type { HandlerBinding } from './handler-binding.ts';
import { LazyProducer } from './lazy-producer.ts';
import { checkRouteTable, LOCAL, type RouteTable, type TypedRoute } from './route-table.ts';
import { type RoutingEntry, routingTable } from './routing-table.ts';
import type { MessageConsumer, TransportDefinition } from './transport-definition.ts';

/** Where payloads are validated against their definition's schema. */
export type ValidationMode = 'receive' | 'send' | 'both' | 'none';

/** Options of {@link createSwitchyard}. */
export interface SwitchyardOptions<T extends Readonly<Record<string, TransportDefinition>>>
  extends ErrorReportingOptions {
  /**
   * Every message type this process sends or handles. Registered once: routes are checked against
   * them and payloads validated with their schemas.
   * @default [] — the definitions of `handlers` and typed `routes` are added anyway
   */
  readonly definitions?: readonly AnyDefinition[] | undefined;
  /**
   * Named transports (`httpTransport(…)`, `bullmqTransport(…)`, `inMemoryTransport(…)`, …). A
   * process builds only the side it uses: a producer on the first message it sends through one, a
   * consumer at `start()` for each transport it serves (one that carries a message it handles).
   * `'local'` is reserved: in this process, no transport.
   * @default {} — everything is local
   */
  readonly transports?: T | undefined;
  /**
   * Which transport carries which message: plain data (`{ GetUser: 'users' }`, e.g. from
   * `parseRoutes(process.env.SWITCHYARD_ROUTES)`), checked here, or typed tuples
   * (`[[GetUser, 'users']]`), checked by the compiler too. A message without a route is local.
   * @default {} — every message is local
   */
  readonly routes?: RouteTable | readonly TypedRoute<T>[] | undefined;
  /**
   * The transports this process consumes from. By default, every transport that carries a message
   * this process has a handler for. Give it when an event routed to several transports is handled
   * here (which one is this process's?), or to consume from fewer.
   * @default derived from `handlers` and `routes`
   */
  readonly serve?: readonly (keyof T & string)[] | undefined;
  /**
   * This process's handlers, made with `handle(Definition, handler)`. Only the process that handles
   * a message binds a handler for it; a process that only sends binds none.
   * @default [] — this process only sends
   */
  readonly handlers?: readonly HandlerBinding[] | undefined;
  /**
   * Where payloads are validated against their definition's schema: `'receive'` — by the consumers,
   * before the handler; `'send'` — at dispatch in this process, so an invalid message is refused
   * before it reaches the transport; `'both'`; `'none'`.
   * @default 'receive'
   */
  readonly validate?: ValidationMode | undefined;
  /**
   * Keep the handled message in scope around local handlers, so that what they dispatch carries
   * `correlationId` and `causationId` (the buses' `correlation` option).
   * @default undefined — automatic: on once the process uses a transport, off when all is in-process
   */
  readonly correlation?: boolean | undefined;
  /**
   * The `timeoutMs` of every dispatch that gives none, on the three buses.
   * @default undefined — no timeout (producers still bound queries by their `replyTimeoutMs`)
   */
  readonly defaultTimeoutMs?: number | undefined;
  /**
   * The dead-letter sink: a durable transport (BullMQ, PostgreSQL) that no message is routed to.
   * Every consumer this process builds whose transport keeps no dead letters of its own (HTTP,
   * ZeroMQ, in-memory queues; not topics) hands it the commands and events that fail for good, each with a
   * `switchyard.deadLetter` metadata entry (error, origin, time). List, replay and purge them — with
   * those BullMQ and PostgreSQL keep — through `app.deadLetters` or the `switchyard` command line.
   * @default undefined — such failures are only reported (`onError`, logger)
   */
  readonly deadLetters?: (keyof T & string) | undefined;
}

/** A wired process: three buses, and `start()`/`close()` for the transports it uses. */
export interface Switchyard {
  readonly commandBus: CommandBus;
  readonly eventBus: EventBus;
  readonly queryBus: QueryBus;
  /** The transports this process serves (it handles a message routed to them): their consumers run after `start()`. */
  readonly serves: readonly string[];
  /** The transports this process sends over (a message routed to them has no handler here). */
  readonly sendsOver: readonly string[];
  /** The transports whose producer was built so far (on the first message sent through each). */
  builtProducers(): string[];
  /** Every message this process knows, where it goes and what this process does with it (`switchyard routes`). */
  readonly routing: readonly RoutingEntry[];
  /**
   * The dead letters of every transport in the configuration that keeps them, and of the
   * `deadLetters` sink: list, replay, purge. Connects on first use; `close()` closes it.
   */
  readonly deadLetters: DeadLetterAdmin;
  /**
   * Starts the consumers of the served transports, and the producers of transports that must listen
   * early (`eagerProducer`, e.g. a ZeroMQ topic's publisher); resolves, once all listen, with the
   * address of each by transport name (e.g. `{ users: { url: 'http://127.0.0.1:8080/' } }`). Once:
   * a second call gets the same promise.
   */
  start(): Promise<Readonly<Record<string, unknown>>>;
  /**
   * Closes the consumers first (the messages they are handling finish and may still send), then the
   * producers that were built; each bounded by its own `closeTimeoutMs`. Once; a second call awaits
   * the first. Rejects with an `AggregateError` if some failed to close (all were tried).
   */
  close(): Promise<void>;
}

/**
 * Wires a process in one call: the three buses routed from plain data (or typed routes), the
 * process's handlers, validation, and the named transports — building only what this process uses.
 * The sending process and the receiving process run the same configuration with their own handlers.
 *
 * @example
 * const app = createSwitchyard({
 *   definitions: [RegisterUser, GetUser],
 *   transports: { users: httpTransport({ producer: { url: 'http://users.internal:8080/' } }) },
 *   routes: { RegisterUser: 'users', GetUser: 'users', ...parseRoutes(process.env.SWITCHYARD_ROUTES) },
 * });
 * await app.start();
 * const user = await app.queryBus.dispatch(GetUser.create({ userId: 'u1' }), { timeoutMs: 2_000 });
 * await app.close();
 */
export function createSwitchyard<const T extends Readonly<Record<string, TransportDefinition>> = {}>(
  options: SwitchyardOptions<T>,
): Switchyard {
  const transports: Readonly<Record<string, TransportDefinition>> = options.transports ?? {};
  if (Object.hasOwn(transports, LOCAL)) {
    throw new ConfigurationError(
      `"${LOCAL}" is reserved for in-process routes; name the transport otherwise`,
    );
  }
  const validate = checkValidationMode(options.validate);
  const definitions = new DefinitionRegistry();
  const register = (definition: AnyDefinition): void => {
    try {
      definitions.add(definition);
    } catch (error) {
      throw new ConfigurationError((error as Error).message);
    }
  };
  for (const definition of options.definitions ?? []) register(definition);
  for (const binding of options.handlers ?? []) register(binding.definition);
  const routes = normaliseRoutes(options.routes, register);
  const deadLetterSink = checkDeadLetterTransport(options.deadLetters, transports, routes);

  const handlers = new Map<string, unknown[]>();
  for (const { definition, handler } of options.handlers ?? []) {
    const list = handlers.get(definition.name) ?? [];
    if (list.length > 0 && definition.kind !== 'event') {
      throw new ConfigurationError(
        `The ${definition.kind} "${definition.name}" has two handlers; it has exactly one`,
      );
    }
    list.push(handler);
    handlers.set(definition.name, list);
  }

  const producers = new Map<string, LazyProducer>();
  const producerOf = (name: string): LazyProducer => {
    let producer = producers.get(name);
    if (producer === undefined) {
      producer = new LazyProducer(name, transports[name]!);
      producers.set(name, producer);
    }
    return producer;
  };
  const explicitServe = checkServe(options.serve, transports);
  const serves = new Set<string>(explicitServe);
  const sendsOver = new Set<string>();
  /** Transport name → the names of the messages this process handles that are routed to it. */
  const handledOver = new Map<string, string[]>();

  const routers = { command: new CommandRouter(), event: new EventRouter(), query: new QueryRouter() };
  for (const [name, targets] of routes) {
    const definition = definitions.get(name);
    if (definition === undefined) {
      throw new ConfigurationError(`There is a route for "${name}" but no definition: add it to definitions`);
    }
    checkTargets(definition, targets, transports);
  }
  for (const definition of allDefinitions(definitions, routes, handlers)) {
    const named = (routes.get(definition.name) ?? [LOCAL]).filter((target) => target !== LOCAL);
    const local = handlers.get(definition.name) ?? [];
    const targets: unknown[] = [...local];
    if (local.length > 0 && named.length > 1 && explicitServe === undefined) {
      throw new ConfigurationError(
        `This process handles the event "${definition.name}", which is routed to ${named.map((n) => `"${n}"`).join(' and ')}: say which it consumes from with serve: [...]`,
      );
    }
    let subscribes = false;
    for (const transport of named) {
      targets.push(producerOf(transport));
      // A topic's handlers in a process without consumer options are the publisher's local
      // listeners: they run at publish, and the process does not subscribe.
      const publisherOnly =
        transports[transport]!.capabilities.fanOut === true && !transports[transport]!.consumes;
      if (local.length === 0 || publisherOnly) sendsOver.add(transport);
      else {
        subscribes = true;
        if (explicitServe === undefined) serves.add(transport);
        const names = handledOver.get(transport) ?? [];
        names.push(definition.name);
        handledOver.set(transport, names);
      }
    }
    if (targets.length === 0) continue;
    route(routers, definition, targets, subscribes ? { localListenersOnPublish: false } : undefined);
  }

  const busOptions = { defaultTimeoutMs: options.defaultTimeoutMs, correlation: options.correlation };
  const commandBus = new CommandBus(busOptions);
  const eventBus = new EventBus(busOptions);
  const queryBus = new QueryBus(busOptions);
  commandBus.use(routers.command);
  eventBus.use(routers.event);
  queryBus.use(routers.query);
  if (validate === 'send' || validate === 'both') {
    const plugin = new ValidateOnDispatch(definitions);
    commandBus.use(plugin);
    eventBus.use(plugin);
    queryBus.use(plugin);
  }

  const consumers: MessageConsumer[] = [];
  let started: Promise<Readonly<Record<string, unknown>>> | undefined;
  let closed: Promise<void> | undefined;
  const start = (): Promise<Readonly<Record<string, unknown>>> => {
    started ??= (async () => {
      if (closed !== undefined) throw new ConfigurationError('This Switchyard is closed');
      for (const name of serves) {
        let consumer: MessageConsumer;
        try {
          consumer = transports[name]!.createConsumer({
            commandBus,
            eventBus,
            queryBus,
            definitions,
            validate: validate === 'receive' || validate === 'both',
            messageNames: Object.freeze([...(handledOver.get(name) ?? [])]),
            ...(handsOffDeadLetters(transports[name]!, deadLetterSink)
              ? { deadLetterSink: producerOf(deadLetterSink!), transportName: name }
              : {}),
            ...(options.onError === undefined ? {} : { onError: options.onError }),
            ...(options.logger === undefined ? {} : { logger: options.logger }),
          });
        } catch (error) {
          throw error instanceof ConfigurationError
            ? new ConfigurationError(`Transport "${name}": ${error.message}`)
            : error;
        }
        consumers.push(consumer);
      }
      const addresses = await Promise.all(consumers.map((consumer) => consumer.start()));
      // Producers that must listen before the first message (a ZeroMQ publisher binds).
      const eager = [...sendsOver].filter(
        (name) => transports[name]!.eagerProducer === true && !serves.has(name),
      );
      const bound = await Promise.all(eager.map((name) => producerOf(name).start()));
      return Object.freeze(
        Object.fromEntries([
          ...[...serves].map((name, index) => [name, addresses[index]]),
          ...eager.map((name, index) => [name, bound[index]]),
        ]),
      );
    })();
    return started;
  };
  const close = (): Promise<void> => {
    closed ??= (async () => {
      // A start still under way finishes first, so every consumer it opened is closed.
      await started?.catch(() => undefined);
      const failures: unknown[] = [];
      const closeAll = async (closables: { close(): Promise<void> }[]) => {
        for (const result of await Promise.allSettled(closables.map((c) => c.close()))) {
          if (result.status === 'rejected') failures.push(result.reason);
        }
      };
      await closeAll(consumers);
      await closeAll([...producers.values(), deadLetters]);
      if (failures.length > 0) throw new AggregateError(failures, 'Some transports failed to close');
    })();
    return closed;
  };

  const deadLetters = createDeadLetterAdmin({ transports, sink: deadLetterSink, routes, producerOf });
  return Object.freeze({
    commandBus,
    eventBus,
    queryBus,
    routing: routingTable(
      allDefinitions(definitions, routes, handlers),
      routes,
      new Set(handlers.keys()),
      serves,
      transports,
    ),
    deadLetters,
    serves: Object.freeze([...serves]),
    sendsOver: Object.freeze([...sendsOver]),
    builtProducers: () => [...producers.values()].filter((p) => p.built).map((p) => p.transportName),
    start,
    close,
  });
}

function checkServe(
  serve: readonly string[] | undefined,
  transports: Readonly<Record<string, TransportDefinition>>,
): readonly string[] | undefined {
  if (serve === undefined) return undefined;
  if (!Array.isArray(serve)) throw new ConfigurationError('serve must be an array of transport names');
  for (const name of serve) {
    if (typeof name !== 'string' || !Object.hasOwn(transports, name)) {
      throw new ConfigurationError(`serve names an unknown transport "${String(name)}"`);
    }
  }
  return serve;
}

function checkValidationMode(mode: ValidationMode | undefined): ValidationMode {
  if (mode === undefined) return 'receive';
  if (mode === 'receive' || mode === 'send' || mode === 'both' || mode === 'none') return mode;
  throw new ConfigurationError(`validate must be 'receive', 'send', 'both' or 'none', got ${String(mode)}`);
}

/** Routes as name → transport names; typed routes add their definitions. */
function normaliseRoutes(
  routes: RouteTable | readonly TypedRoute<never>[] | undefined,
  register: (definition: AnyDefinition) => void,
): Map<string, readonly string[]> {
  const normalised = new Map<string, readonly string[]>();
  if (routes === undefined) return normalised;
  if (Array.isArray(routes)) {
    for (const entry of routes as readonly (readonly [AnyDefinition, string | readonly string[]])[]) {
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw new ConfigurationError('A typed route is a pair: [Definition, transport name]');
      }
      const [definition, target] = entry;
      register(definition);
      const table = checkRouteTable({ [definition.name]: target });
      normalised.set(definition.name, toList(table[definition.name]!));
    }
    return normalised;
  }
  for (const [name, target] of Object.entries(checkRouteTable(routes))) normalised.set(name, toList(target));
  return normalised;
}

function toList(target: string | readonly string[]): readonly string[] {
  return typeof target === 'string' ? [target] : target;
}

function checkTargets(
  definition: AnyDefinition,
  targets: readonly string[],
  transports: Readonly<Record<string, TransportDefinition>>,
): void {
  const { name, kind } = definition;
  if (kind !== 'event' && targets.length > 1) {
    throw new ConfigurationError(`The ${kind} "${name}" goes to one transport, not ${targets.length}`);
  }
  if (targets.length > 1 && targets.includes(LOCAL)) {
    throw new ConfigurationError(
      `The event "${name}" is routed to "${LOCAL}" and to transports: route it to the transports only (a process that handles it receives it from them)`,
    );
  }
  for (const target of targets) {
    if (target === LOCAL) continue;
    const transport = transports[target];
    if (transport === undefined || !Object.hasOwn(transports, target)) {
      const names = [...Object.keys(transports), LOCAL].map((n) => `"${n}"`).join(', ');
      throw new ConfigurationError(
        `"${name}" is routed to an unknown transport "${target}" (known: ${names})`,
      );
    }
    if (kind === 'query' && !transport.capabilities.replies) {
      throw new ConfigurationError(
        `The query "${name}" is routed to "${target}" (${transport.kind}), which does not carry replies`,
      );
    }
    if (kind !== 'event' && transport.capabilities.fanOut === true) {
      throw new ConfigurationError(
        `The ${kind} "${name}" is routed to "${target}" (${transport.kind}), a topic: a topic carries events only`,
      );
    }
  }
}

/** Every definition that has a route or a handler, each once. */
function allDefinitions(
  definitions: DefinitionRegistry,
  routes: Map<string, readonly string[]>,
  handlers: Map<string, unknown[]>,
): AnyDefinition[] {
  const names = new Set([...routes.keys(), ...handlers.keys()]);
  return [...names].map((name) => definitions.get(name)!);
}

function route(
  routers: { command: CommandRouter; event: EventRouter; query: QueryRouter },
  definition: AnyDefinition,
  targets: unknown[],
  eventOptions: EventRouteOptions | undefined,
): void {
  const kind: MessageKind = definition.kind;
  // Routed by definition, so the buses know its schema. The routers check each target (a query's
  // producer must carry replies, one handler per command).
  if (kind === 'event') {
    const [first, ...more] = targets;
    let chain = routers.event.route(definition as EventDefinition<unknown>, eventOptions).to(first as never);
    for (const target of more) chain = chain.andTo(target as never);
  } else if (kind === 'command') {
    const chain = routers.command.route(definition as CommandDefinition<unknown>);
    for (const target of targets) chain.to(target as never);
  } else {
    const chain = routers.query.route(definition as QueryDefinition<unknown, unknown>);
    for (const target of targets) chain.to(target as never);
  }
}
