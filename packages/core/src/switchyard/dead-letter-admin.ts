import type { WireData } from '../codec/message-codec.ts';
import { ConfigurationError, DecodeError, errorMessage } from '../errors.ts';
import type { AnyMessage } from '../message.ts';
import type { MessageProducer } from '../message-producer.ts';
import {
  codeOfReason,
  type DeadLetterOrigin,
  deadLetterInfoOf,
  UNDECODABLE,
  withoutDeadLetter,
} from '../transport/dead-letter-sink.ts';
import type { DeadLetterQueue } from '../transport/dead-letters.ts';
import type { IdentifiedDeadLetter, StoredMessage, StoredMessages } from '../transport/stored-messages.ts';
import type { TransportDefinition } from './transport-definition.ts';

/** One dead letter, wherever it is kept: a transport's own (BullMQ, PostgreSQL) or the sink's. */
export interface DeadLetterEntry {
  /** Where it is kept: the transport's name in the configuration (the sink's name for handed-off letters). Pass it to `replay`/`purge`. */
  readonly transport: string;
  /** Its id there (the message id; BullMQ's job id). Pass it to `replay`/`purge`. */
  readonly id: string;
  /** The message name. */
  readonly name: string;
  /** Why it failed: `CODE: message` for a Switchyard error. */
  readonly error: string;
  /** The error code, when there is one. */
  readonly code: string | undefined;
  /** The consumer that gave up on it. */
  readonly origin: DeadLetterOrigin;
  /** Attempts made. */
  readonly attempts: number;
  /** When it failed for good. */
  readonly failedAt: Date | undefined;
  /** The message as it was sent (dead-letter metadata removed), or `undefined` for undecodable input. */
  readonly message: AnyMessage | undefined;
  /** The raw envelope, for undecodable input (and as stored by a transport's own dead letters). */
  readonly envelope: WireData | undefined;
}

/** Which dead letters {@link DeadLetterAdmin.list} returns. */
export interface DeadLetterListOptions {
  /** Only those kept there. @default undefined — every place (see `transports`), newest first */
  readonly transport?: string | undefined;
  /** Skip this many. @default 0 */
  readonly offset?: number | undefined;
  /** At most this many. @default 100 */
  readonly limit?: number | undefined;
}

/**
 * One dead-letter API over every place this process's configuration keeps them: the transports that
 * keep their own (BullMQ's failed set, PostgreSQL's dead rows; replay re-queues there) and the sink
 * of `createSwitchyard({ deadLetters })` (replay sends the message again over its original route,
 * then removes the letter). Opens connections on first use; `app.close()` closes them.
 */
export interface DeadLetterAdmin {
  /** Where dead letters are kept: transport names, the sink's last. */
  readonly transports: readonly string[];
  /** The sink's transport name, if the process has one. */
  readonly sink: string | undefined;
  /** How many dead letters `transport` (default: every place) holds. */
  count(transport?: string): Promise<number>;
  /** Dead letters, newest first. */
  list(options?: DeadLetterListOptions): Promise<DeadLetterEntry[]>;
  /** One dead letter, or `undefined`. */
  get(transport: string, id: string): Promise<DeadLetterEntry | undefined>;
  /**
   * Sends one dead letter again: a transport's own back into its queue (attempts reset); a sink
   * letter over its original route, then removed from the sink (put back if the send fails, and
   * the send's error thrown). False when there is no such letter.
   */
  replay(transport: string, id: string): Promise<boolean>;
  /** Replays every dead letter (of `transport`, up to `limit`); returns how many. Throws an `AggregateError` naming those that failed. */
  replayAll(options?: {
    readonly transport?: string | undefined;
    readonly limit?: number | undefined;
  }): Promise<number>;
  /** Deletes one dead letter (`id`) or all of `transport`'s; returns how many. */
  purge(transport: string, id?: string): Promise<number>;
  /** Closes the connections it opened (`app.close()` calls it). */
  close(): Promise<void>;
}

/** What the admin needs from `createSwitchyard`. */
export interface DeadLetterAdminWiring {
  readonly transports: Readonly<Record<string, TransportDefinition>>;
  /** The sink's transport name. */
  readonly sink: string | undefined;
  /** Message name → the transports it is routed to. */
  readonly routes: ReadonlyMap<string, readonly string[]>;
  /** The process's producer for a transport (built lazily, closed by the app). */
  readonly producerOf: (transport: string) => MessageProducer;
}

/**
 * Checks `createSwitchyard`'s `deadLetters` option: a configured transport, durable, not a topic,
 * able to list its messages, and carrying no routed message (nobody may consume the letters).
 */
export function checkDeadLetterTransport(
  name: unknown,
  transports: Readonly<Record<string, TransportDefinition>>,
  routes: ReadonlyMap<string, readonly string[]>,
): string | undefined {
  if (name === undefined) return undefined;
  const definition =
    typeof name === 'string' && Object.hasOwn(transports, name) ? transports[name] : undefined;
  if (definition === undefined) {
    const known = Object.keys(transports)
      .map((n) => `"${n}"`)
      .join(', ');
    throw new ConfigurationError(
      `deadLetters names an unknown transport "${String(name)}" (known: ${known})`,
    );
  }
  const label = `deadLetters: the transport "${String(name)}" (${definition.kind})`;
  if (definition.capabilities.durable !== true) {
    throw new ConfigurationError(`${label} is not durable: dead letters must survive a restart`);
  }
  if (definition.capabilities.fanOut === true) {
    throw new ConfigurationError(`${label} is a topic: give a queue`);
  }
  if (definition.storedMessages === undefined) {
    throw new ConfigurationError(`${label} cannot list the messages it holds, so it cannot be the sink`);
  }
  for (const [message, targets] of routes) {
    if (targets.includes(name as string)) {
      throw new ConfigurationError(
        `${label} holds dead letters only: "${message}" is routed to it; route it elsewhere`,
      );
    }
  }
  return name as string;
}

/**
 * Whether a consumer of `transport` gets the sink: one that keeps no dead letters of its own — not
 * durable (a durable queue retries and keeps its failures), no `deadLetters()`, and not a topic (a
 * replay would reach every subscriber again).
 */
export function handsOffDeadLetters(transport: TransportDefinition, sink: string | undefined): boolean {
  return (
    sink !== undefined &&
    transport.deadLetters === undefined &&
    transport.capabilities.durable !== true &&
    transport.capabilities.fanOut !== true
  );
}

type Source =
  | { readonly type: 'own'; readonly queue: DeadLetterQueue<IdentifiedDeadLetter> }
  | { readonly type: 'sink'; readonly stored: StoredMessages };

/** Builds the {@link DeadLetterAdmin} of a process (see `createSwitchyard`). */
export function createDeadLetterAdmin(wiring: DeadLetterAdminWiring): DeadLetterAdmin {
  const { transports, sink, routes, producerOf } = wiring;
  const names = Object.keys(transports).filter(
    (name) => name !== sink && transports[name]!.deadLetters !== undefined,
  );
  if (sink !== undefined) names.push(sink);
  const opened = new Map<string, Source>();
  let closed = false;

  const sourceOf = (transport: string): Source => {
    if (closed) throw new ConfigurationError('The dead letters of this Switchyard are closed');
    let source = opened.get(transport);
    if (source !== undefined) return source;
    if (!names.includes(transport)) {
      const known = names.length === 0 ? 'none' : names.map((n) => `"${n}"`).join(', ');
      throw new ConfigurationError(`No dead letters are kept on "${transport}" (they are kept on: ${known})`);
    }
    const definition = transports[transport]!;
    source =
      transport === sink
        ? { type: 'sink', stored: definition.storedMessages!() }
        : { type: 'own', queue: definition.deadLetters!() };
    opened.set(transport, source);
    return source;
  };

  const fromOwn = (transport: string, letter: IdentifiedDeadLetter): DeadLetterEntry => ({
    transport,
    id: letter.id,
    name: letter.name,
    error: letter.failedReason,
    code: codeOfReason(letter.failedReason),
    origin: { transport, kind: transports[transport]!.kind },
    attempts: letter.attemptsMade,
    failedAt: letter.failedAt,
    message: letter.message,
    envelope: letter.envelope,
  });

  const fromSink = (transport: string, stored: StoredMessage): DeadLetterEntry => {
    const message = stored.message;
    const info = message === undefined ? undefined : deadLetterInfoOf(message);
    const undecodable = message?.name === UNDECODABLE;
    const payload = undecodable ? (message!.payload as { envelope?: unknown }) : undefined;
    return {
      transport,
      id: stored.id,
      name: stored.name,
      error: info?.error ?? 'The letter in the sink cannot be decoded',
      code: info?.code,
      origin: info?.origin ?? { transport: 'unknown', kind: 'unknown' },
      attempts: info?.attempts ?? 0,
      failedAt: info === undefined || info.failedAt === '' ? stored.storedAt : new Date(info.failedAt),
      message: message === undefined || undecodable ? undefined : withoutDeadLetter(message),
      envelope: undecodable
        ? typeof payload?.envelope === 'string'
          ? payload.envelope
          : undefined
        : message === undefined
          ? stored.envelope
          : undefined,
    };
  };

  const listOne = async (transport: string, offset: number, limit: number): Promise<DeadLetterEntry[]> => {
    const source = sourceOf(transport);
    if (source.type === 'own') {
      return (await source.queue.list(offset, limit)).map((letter) => fromOwn(transport, letter));
    }
    return (await source.stored.list(offset, limit)).map((stored) => fromSink(transport, stored));
  };

  /** The producer a sink letter goes back through: its origin's when routed there, else its route's. */
  const routeBack = (message: AnyMessage, origin: DeadLetterOrigin): MessageProducer => {
    const targets = routes.get(message.name) ?? [];
    if (targets.includes(origin.transport)) return producerOf(origin.transport);
    if (targets.length === 1) return producerOf(targets[0]!);
    if (targets.length === 0) {
      throw new ConfigurationError(
        `"${message.name}" has no route to a transport in this configuration: add its route to replay it`,
      );
    }
    throw new ConfigurationError(
      `"${message.name}" is routed to ${targets.map((t) => `"${t}"`).join(' and ')} and its letter came from "${origin.transport}": replay it from a configuration that routes it there`,
    );
  };

  const replaySink = async (transport: string, stored: StoredMessages, id: string): Promise<boolean> => {
    const letter = await stored.get(id);
    if (letter === undefined) return false;
    const message = letter.message;
    if (message === undefined || message.name === UNDECODABLE) {
      throw new DecodeError(
        `The dead letter ${id} on "${transport}" cannot be replayed: its envelope could not be decoded (purge it)`,
      );
    }
    const info = deadLetterInfoOf(message);
    const original = withoutDeadLetter(message);
    const producer = routeBack(original, info?.origin ?? { transport: '', kind: '' });
    // Removed first: a send that fails again at once is handed to the sink anew by its consumer.
    if ((await stored.remove(id)) === 0) return false;
    try {
      await producer.produce(original);
    } catch (error) {
      try {
        await producerOf(transport).produce(message);
      } catch (lost) {
        throw new AggregateError(
          [error, lost],
          `Replaying ${id} failed (${errorMessage(error)}) and the letter could not be put back in "${transport}": ${errorMessage(lost)}`,
        );
      }
      throw error;
    }
    return true;
  };

  const admin: DeadLetterAdmin = {
    transports: Object.freeze([...names]),
    sink,
    async count(transport) {
      const counts = await Promise.all(
        (transport === undefined ? names : [transport]).map((name) => {
          const source = sourceOf(name);
          return source.type === 'own' ? source.queue.count() : source.stored.count();
        }),
      );
      return counts.reduce((sum, count) => sum + count, 0);
    },
    async list(options = {}) {
      const offset = Math.max(0, Math.floor(options.offset ?? 0));
      const limit = Math.max(0, Math.floor(options.limit ?? 100));
      if (limit === 0) return [];
      if (options.transport !== undefined) return listOne(options.transport, offset, limit);
      // Every place, newest first: the first offset + limit of each, merged.
      const all = (await Promise.all(names.map((name) => listOne(name, 0, offset + limit)))).flat();
      all.sort((a, b) => (b.failedAt?.getTime() ?? 0) - (a.failedAt?.getTime() ?? 0));
      return all.slice(offset, offset + limit);
    },
    async get(transport, id) {
      const source = sourceOf(transport);
      if (source.type === 'own') {
        const letter = await source.queue.get(id);
        return letter === undefined ? undefined : fromOwn(transport, letter);
      }
      const stored = await source.stored.get(id);
      return stored === undefined ? undefined : fromSink(transport, stored);
    },
    async replay(transport, id) {
      const source = sourceOf(transport);
      if (source.type === 'own') return source.queue.replay(id);
      return replaySink(transport, source.stored, id);
    },
    async replayAll(options = {}) {
      const limit = options.limit ?? Number.POSITIVE_INFINITY;
      let replayed = 0;
      const failures: unknown[] = [];
      for (const transport of options.transport === undefined ? names : [options.transport]) {
        const source = sourceOf(transport);
        if (replayed >= limit) break;
        if (source.type === 'own') {
          replayed += await source.queue.replayAll(limit - replayed);
          continue;
        }
        // The ids first: a letter that fails again is put back and must not come round twice.
        const ids: string[] = [];
        while (ids.length < limit - replayed) {
          const page = await source.stored.list(ids.length, Math.min(500, limit - replayed - ids.length));
          if (page.length === 0) break;
          ids.push(...page.map((letter) => letter.id));
        }
        for (const id of ids) {
          try {
            if (await replaySink(transport, source.stored, id)) replayed++;
          } catch (error) {
            failures.push(error);
          }
        }
      }
      if (failures.length > 0) {
        throw new AggregateError(
          failures,
          `${replayed} dead letter(s) replayed, ${failures.length} failed: ${errorMessage(failures[0])}`,
        );
      }
      return replayed;
    },
    async purge(transport, id) {
      const source = sourceOf(transport);
      return source.type === 'own' ? source.queue.purge(id) : source.stored.remove(id);
    },
    async close() {
      closed = true;
      const sources = [...opened.values()];
      opened.clear();
      const results = await Promise.allSettled(
        sources.map((source) => (source.type === 'own' ? source.queue.close() : source.stored.close())),
      );
      const failures = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []));
      if (failures.length > 0)
        throw new AggregateError(failures, 'Some dead-letter connections failed to close');
    },
  };
  return Object.freeze(admin);
}
