import { DomainError, Fixtures, fixtureDefinitions, sleep } from '@switchyard/conformance';
import {
  type AnyMessage,
  CommandBus,
  CommandRouter,
  EventBus,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { Agent, request } from 'undici';
import { HttpConsumer, type HttpConsumerOptions, type HttpProducer } from '../src/index.ts';

/** Buses with the conformance fixtures; `handled` records every command the handler ran. */
export function buildBuses() {
  const handled: AnyMessage[] = [];
  const commands = new CommandRouter();
  // Command and Add have no schema, and random-bodies.test.ts sends them any JSON payload: these
  // two handlers take whatever arrives (a handler that threw on it would answer 500, which that
  // property would count against the consumer).
  commands.route(Fixtures.Command).to(async (command) => {
    const text: unknown = (command.payload as { text?: unknown } | null)?.text;
    if (text === 'fail') throw new DomainError('command failed');
    if (typeof text === 'string' && text.startsWith('slow')) await sleep(300);
    handled.push(command);
  });
  const queries = new QueryRouter();
  queries.route(Fixtures.Add).to((query) => {
    const operands = query.payload as Partial<typeof query.payload> | null;
    return { sum: (operands?.a ?? 0) + (operands?.b ?? 0) };
  });
  queries.route(Fixtures.Slow).to(async (query) => {
    await sleep(query.payload.delayMs);
    return { tag: query.payload.tag };
  });
  queries.route(Fixtures.Fail).to((query) => {
    throw new DomainError(query.payload.reason);
  });
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  return { commandBus, eventBus: new EventBus(), queryBus, definitions: fixtureDefinitions, handled };
}

/** A consumer listening on a free loopback port, with the fixture buses. */
export async function startConsumer(options: Partial<HttpConsumerOptions> = {}) {
  const buses = buildBuses();
  const consumer = new HttpConsumer({ ...buses, onError: () => undefined, ...options });
  const address = await consumer.start();
  return { consumer, url: address.url, port: address.port, handled: buses.handled };
}

/** A query bus that sends the conformance queries (Add, Slow, Fail) to `producer`. */
export function queryBusVia(producer: HttpProducer): QueryBus {
  const router = new QueryRouter();
  router.route(Fixtures.Add.name).to(producer);
  router.route(Fixtures.Slow.name).to(producer);
  router.route(Fixtures.Fail.name).to(producer);
  const bus = new QueryBus();
  bus.use(router);
  return bus;
}

/** A raw client for sending arbitrary bytes (not the producer under test). */
export const rawAgent = new Agent({ connections: 4 });

/** POSTs `body` and returns the status and the parsed JSON answer (if any). */
export async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = { 'content-type': 'application/json' },
  method: 'POST' | 'GET' = 'POST',
): Promise<{ status: number; json: unknown; headers: Record<string, unknown> }> {
  const response = await request(url, {
    method,
    headers,
    ...(method === 'POST' ? { body } : {}),
    dispatcher: rawAgent,
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = text.length === 0 ? undefined : JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: response.statusCode, json, headers: response.headers };
}

/** A valid wire envelope for the conformance command, with fields overridable. */
export function commandEnvelope(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: 1,
    id: crypto.randomUUID(),
    kind: 'command',
    name: Fixtures.Command.name,
    payload: { text: 'hello' },
    metadata: {},
    createdAt: new Date().toISOString(),
    ...overrides,
  };
}
