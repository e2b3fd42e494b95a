import {
  type AnyMessage,
  type Backoff,
  ConfigurationError,
  InvalidMessageError,
  isMessage,
  JsonCodec,
  type MessageCodec,
  PayloadTooLargeError,
  TransportProducer,
  type TransportProducerOptions,
} from '@switchyard/core';
import type pg from 'pg';
import type { PgConnection } from './connection.ts';
import type { PostgresAddress } from './postgres-address.ts';
import { PostgresWire } from './postgres-wire.ts';

/**
 * Options of the {@link PostgresProducer}, plus core's producer options — `replyTimeoutMs`
 * (default 30_000), `maxMessageBytes` (16 MiB), `closeTimeoutMs` (10_000), `codec` (JSON),
 * `onError`, `logger`.
 */
export interface PostgresProducerOptions extends TransportProducerOptions {
  /**
   * A `postgres://` URL, a node-postgres `PoolConfig`, or an existing `pg.Pool` (used as is, never
   * ended by the producer). From a URL or config the producer opens a pool of its own (at most 10
   * connections, connects and statements bounded by `sendTimeoutMs`). One connection of the pool
   * is held for good to `LISTEN` for query replies.
   */
  readonly connection: PgConnection;
  /** The queue messages are added to; the consumer reads the same one. 1 to 200 characters. */
  readonly queueName: string;
  /** The schema `migrate()` created. @default 'switchyard' */
  readonly schema?: string | undefined;
  /** Tries per command/event, the first included. Queries are tried once. @default 3 */
  readonly attempts?: number | undefined;
  /** Wait between tries: ms (fixed), or `{ type: 'fixed' | 'exponential', delay }`. @default { type: 'exponential', delay: 1_000 } */
  readonly backoff?: number | Backoff | undefined;
  /** Delay before a command/event can run, in ms. @default 0 */
  readonly delay?: number | undefined;
  /**
   * Longest wait for PostgreSQL to take a batch of messages — or, in `start()`, to connect, check
   * the schema and `LISTEN` — before the dispatches (or `start()`) reject with
   * `SWITCHYARD_TRANSPORT_ERROR`. A batch may have been committed all the same: resending the same
   * message cannot queue it twice while its row exists.
   * @default 5_000
   */
  readonly sendTimeoutMs?: number | undefined;
  /** Most messages in one `INSERT`; a larger same-tick burst goes in several at once. @default 500 */
  readonly maxBatchSize?: number | undefined;
}

/**
 * Core's producer on PostgreSQL: commands and events become durable rows (retried with backoff,
 * kept as dead letters when they fail for good; a message id queued twice is stored once), queries
 * become rows whose reply comes back by `NOTIFY` on a channel of this producer. Messages sent in
 * one tick go in as one `INSERT`, and the queue's consumers are woken by `NOTIFY`. Nothing connects
 * before `start()` (or the first `produce`); `start()` fails with `SWITCHYARD_INVALID_CONFIGURATION`
 * when the schema was not migrated, and with `SWITCHYARD_TRANSPORT_ERROR` when PostgreSQL does not
 * answer.
 *
 * @example
 * const producer = new PostgresProducer({ connection: 'postgres://app@127.0.0.1/app', queueName: 'billing' });
 * await producer.start();
 * commandRouter.route(ChargeCard).to(producer);
 * // …
 * await producer.close();
 */
export class PostgresProducer extends TransportProducer<PostgresAddress> {
  readonly #wire: PostgresWire;

  readonly #codec: MessageCodec;
  readonly #maxBytes: number;

  constructor(options: PostgresProducerOptions) {
    const wire = new PostgresWire(options);
    super('PostgresProducer', 'postgres', wire, options);
    this.#wire = wire;
    this.#codec = options.codec ?? new JsonCodec();
    this.#maxBytes = options.maxMessageBytes ?? 16 * 1024 * 1024;
  }

  /**
   * Queues commands and events on `client` — inside the caller's own transaction: they are
   * committed (and the consumers woken) with the caller's writes, or rolled back with them. The
   * producer need not be started. Queries are refused (their reply needs `dispatch`).
   *
   * @example
   * const client = await pool.connect();
   * await client.query('BEGIN');
   * await client.query('INSERT INTO users (id, email) VALUES ($1, $2)', [id, email]);
   * await producer.enqueue(client, WelcomeUser.create({ id }));
   * await client.query('COMMIT');
   * client.release();
   */
  async enqueue(client: Pick<pg.ClientBase, 'query'>, ...messages: AnyMessage[]): Promise<void> {
    const outgoing = messages.map((message) => {
      if (!isMessage(message)) {
        throw new InvalidMessageError(
          'PostgresProducer.enqueue takes Switchyard messages (build them with create())',
        );
      }
      if (message.kind === 'query') {
        throw new ConfigurationError(
          `PostgresProducer.enqueue: "${message.name}" is a query; dispatch queries through the query bus`,
        );
      }
      const data = this.#codec.encode(message);
      if ((typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength) > this.#maxBytes) {
        throw new PayloadTooLargeError(this.#maxBytes);
      }
      return { message, data, expectsReply: false };
    });
    if (outgoing.length === 0) return;
    await client.query(this.#wire.insertSql, this.#wire.insertValues(outgoing));
  }

  /** The pool the producer inserts through (the one passed in, or the one `start()` opened). */
  get pool(): pg.Pool {
    const pool = this.#wire.pool;
    if (pool === undefined) throw new ConfigurationError('PostgresProducer: await producer.start() first');
    return pool;
  }
}
