import {
  ConfigurationError,
  checkOption,
  type OutgoingMessage,
  ProducerClosedError,
  type ProducerWire,
  TransportProducer,
  type TransportProducerOptions,
  type WireCapabilities,
  type WireChannel,
} from '@switchyard/core';
import type pg from 'pg';
import { Batcher } from './batcher.ts';
import { boundedQueries } from './bounded-queries.ts';
import { bounded, type OpenedPool, openPool, type PgConnection } from './connection.ts';
import { checkSchemaName, DEFAULT_SCHEMA, requireMigrated } from './migrate.ts';
import { checkTopicName, TOPIC_VERSION, topicSql } from './postgres-topic-sql.ts';
import { prepared } from './queue-sql.ts';
import { toStored } from './wire-format.ts';

/** What a topic publisher or subscriber reaches; their `start()` resolves with it. */
export interface PostgresTopicAddress {
  /** The schema the tables live in. */
  readonly schema: string;
  /** The topic. */
  readonly topic: string;
}

/**
 * Options of the {@link PostgresTopicPublisher}, plus core's producer options — `maxMessageBytes`
 * (16 MiB), `closeTimeoutMs` (10_000), `codec` (JSON), `onError`, `logger`.
 */
export interface PostgresTopicPublisherOptions extends TransportProducerOptions {
  /**
   * A `postgres://` URL, a node-postgres `PoolConfig`, or an existing `pg.Pool` (used as is, never
   * ended by the publisher). From a URL or config the publisher opens a pool of its own (at most 10
   * connections, connects and statements bounded by `sendTimeoutMs`).
   */
  readonly connection: PgConnection;
  /** The topic events are published to: 1–90 characters, no `/` or whitespace. */
  readonly topic: string;
  /** The schema `migrate()` created. @default 'switchyard' */
  readonly schema?: string | undefined;
  /**
   * Longest wait for PostgreSQL to take a batch of events — or, in `start()`, to connect and check
   * the schema — before the publishes (or `start()`) reject with `SWITCHYARD_TRANSPORT_ERROR`. A
   * batch may have been committed all the same: publishing the same event again cannot queue it
   * twice for a group while its row exists.
   * @default 5_000
   */
  readonly sendTimeoutMs?: number | undefined;
  /** Most events in one `INSERT`; a larger same-tick burst goes in several at once. @default 500 */
  readonly maxBatchSize?: number | undefined;
}

/** What the topic wire declares: events only, fanned out to durable group queues, a delay per event. */
export const POSTGRES_TOPIC_CAPABILITIES = Object.freeze({
  replies: false,
  confirmsHandling: false,
  durable: true,
  fanOut: true,
  delivery: Object.freeze(['delayMs'] as const),
} as const) satisfies WireCapabilities;

/** What `open()` made. */
interface Opened {
  readonly pool: OpenedPool;
}

/**
 * The wire under the {@link PostgresTopicPublisher}: events published in one tick go to PostgreSQL
 * as one `INSERT … SELECT` that copies each into the queue of every subscribed group whose patterns
 * match it, and notifies each of those groups once. It never reads the groups itself.
 */
class PostgresTopicWire implements ProducerWire<PostgresTopicAddress> {
  readonly capabilities: WireCapabilities = POSTGRES_TOPIC_CAPABILITIES;
  readonly #options: PostgresTopicPublisherOptions;
  readonly #schema: string;
  readonly #topic: string;
  readonly #publish: string;
  readonly #sendTimeoutMs: number;
  readonly #batcher: Batcher<OutgoingMessage>;
  #opened: Opened | undefined;

  constructor(options: PostgresTopicPublisherOptions) {
    if (options.connection === undefined) {
      throw new ConfigurationError(
        'PostgresTopicPublisher: connection is required (a URL, a pg PoolConfig or a pg.Pool)',
      );
    }
    this.#schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
    this.#topic = checkTopicName('PostgresTopicPublisher', options.topic);
    this.#sendTimeoutMs = checkOption(
      'PostgresTopicPublisher',
      'sendTimeoutMs',
      options.sendTimeoutMs,
      5_000,
      'positive',
    );
    const maxBatch = checkOption(
      'PostgresTopicPublisher',
      'maxBatchSize',
      options.maxBatchSize,
      500,
      'whole',
    );
    this.#publish = topicSql(this.#schema).publish;
    this.#batcher = new Batcher((batch) => this.#insert(batch), maxBatch);
    this.#options = options;
  }

  get pool(): pg.Pool | undefined {
    return this.#opened?.pool.pool;
  }

  async open(channel: WireChannel): Promise<PostgresTopicAddress> {
    const pool = openPool(this.#options.connection, this.#sendTimeoutMs, 10, (error) =>
      channel.report(error, 'connection'),
    );
    try {
      await requireMigrated(
        boundedQueries(pool.pool, this.#sendTimeoutMs, 'PostgresTopicPublisher could not reach PostgreSQL'),
        this.#schema,
        TOPIC_VERSION,
        'PostgresTopicPublisher',
      );
    } catch (error) {
      await pool.close();
      throw error;
    }
    this.#opened = { pool };
    return { schema: this.#schema, topic: this.#topic };
  }

  async send(outgoing: OutgoingMessage): Promise<undefined> {
    await this.#batcher.add(outgoing);
    return undefined;
  }

  /** The parameters of the publish statement for `batch`. */
  #values(batch: readonly OutgoingMessage[]): unknown[] {
    const ids: string[] = [];
    const names: string[] = [];
    const envelopes: string[] = [];
    const encodings: (string | null)[] = [];
    const delays: number[] = [];
    for (const { message, data, delivery } of batch) {
      const stored = toStored(data);
      ids.push(message.id);
      names.push(message.name);
      envelopes.push(stored.envelope);
      encodings.push(stored.encoding);
      delays.push(delivery?.delayMs ?? 0);
    }
    return [this.#topic, ids, names, envelopes, encodings, delays];
  }

  async #insert(batch: OutgoingMessage[]): Promise<void> {
    const opened = this.#opened;
    if (opened === undefined) throw new ProducerClosedError();
    await bounded(
      opened.pool.pool.query(prepared(this.#publish, this.#values(batch))),
      this.#sendTimeoutMs,
      `PostgresTopicPublisher could not publish ${batch.length === 1 ? `"${batch[0]!.message.name}"` : `${batch.length} events`} to "${this.#topic}"`,
    );
  }

  async close(): Promise<void> {
    const opened = this.#opened;
    if (opened === undefined) return;
    // Publishes not flushed yet (a close that did not drain) find no pool: ProducerClosedError.
    this.#opened = undefined;
    await opened.pool.close();
  }
}

/**
 * Core's producer on a PostgreSQL topic: every event published is delivered once to each
 * subscriber group subscribed at that moment (see {@link PostgresTopicSubscriber}) — durably, with
 * the group's retries and dead letters. The publisher does not know the groups: one `INSERT` copies
 * an event into each matching group's queue, so adding a group changes nothing here. Events only:
 * a command or query is refused with `SWITCHYARD_INVALID_MESSAGE`. Nothing connects before
 * `start()` (or the first `produce`); `start()` fails with `SWITCHYARD_INVALID_CONFIGURATION` when
 * the schema was not migrated (version 3), and with `SWITCHYARD_TRANSPORT_ERROR` when PostgreSQL
 * does not answer.
 *
 * @example
 * const publisher = new PostgresTopicPublisher({ connection: pool, topic: 'orders' });
 * eventRouter.route(OrderPlaced).to(publisher);
 * // …
 * await publisher.close();
 */
export class PostgresTopicPublisher extends TransportProducer<PostgresTopicAddress> {
  readonly #wire: PostgresTopicWire;

  constructor(options: PostgresTopicPublisherOptions) {
    const wire = new PostgresTopicWire(options);
    super('PostgresTopicPublisher', 'postgres', wire, options);
    this.#wire = wire;
  }

  /** The pool the publisher inserts through (the one passed in, or the one `start()` opened). */
  get pool(): pg.Pool {
    const pool = this.#wire.pool;
    if (pool === undefined) {
      throw new ConfigurationError('PostgresTopicPublisher: await publisher.start() first');
    }
    return pool;
  }
}
