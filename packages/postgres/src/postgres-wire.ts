import { randomBytes } from 'node:crypto';
import {
  type Backoff,
  ConfigurationError,
  checkOption,
  type OutgoingMessage,
  ProducerClosedError,
  type ProducerWire,
  TransportError,
  type WireCapabilities,
  type WireChannel,
} from '@switchyard/core';
import type pg from 'pg';
import { boundedQueries } from './bounded-queries.ts';
import { bounded, type OpenedPool, openPool } from './connection.ts';
import { Listener } from './listener.ts';
import { checkSchemaName, DEFAULT_SCHEMA, requireMigrated } from './migrate.ts';
import type { PostgresAddress } from './postgres-address.ts';
import type { PostgresProducerOptions } from './postgres-producer.ts';
import { prepared, QUEUE_VERSION, type QueueSql, queueSql } from './queue-sql.ts';
import { fromReplyPayload, fromStored, toStored } from './wire-format.ts';

/** One message waiting for the next insert. */
interface Queued {
  readonly outgoing: OutgoingMessage;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** What `open()` made, released by `close()`. */
interface Opened {
  readonly pool: OpenedPool;
  readonly listener: Listener;
  readonly replyChannel: string;
  readonly channel: WireChannel;
}

/**
 * What the queue's wire declares: replies by `NOTIFY`, durable rows, a delay and a dedupe key per
 * message (no priority: see the README).
 */
export const POSTGRES_QUEUE_CAPABILITIES: WireCapabilities = Object.freeze({
  replies: 'channel',
  confirmsHandling: false,
  durable: true,
  delivery: Object.freeze(['delayMs', 'dedupeKey'] as const),
});

/** Checks a queue name: 1 to 200 characters. */
export function checkQueueName(component: string, queueName: unknown): string {
  if (typeof queueName !== 'string' || queueName.length === 0 || queueName.length > 200) {
    throw new ConfigurationError(
      `${component}: queueName must be a string of 1 to 200 characters, got ${String(queueName)}`,
    );
  }
  return queueName;
}

/**
 * The wire under the `PostgresProducer`: messages sent in one tick go to PostgreSQL as one
 * multi-row `INSERT … ON CONFLICT DO NOTHING` plus one `NOTIFY` to the queue's consumers; a query's
 * row names the producer's reply channel, on which a dedicated connection `LISTEN`s.
 */
export class PostgresWire implements ProducerWire<PostgresAddress> {
  readonly capabilities: WireCapabilities = POSTGRES_QUEUE_CAPABILITIES;
  readonly #options: PostgresProducerOptions;
  readonly #schema: string;
  readonly #queueName: string;
  readonly #sql: QueueSql;
  readonly #attempts: number;
  readonly #backoff: Backoff;
  readonly #delay: number;
  readonly #sendTimeoutMs: number;
  readonly #maxBatch: number;
  #queued: Queued[] = [];
  #flushScheduled = false;
  #opened: Opened | undefined;

  constructor(options: PostgresProducerOptions) {
    if (options.connection === undefined) {
      throw new ConfigurationError(
        'PostgresProducer: connection is required (a URL, a pg PoolConfig or a pg.Pool)',
      );
    }
    this.#schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
    this.#queueName = checkQueueName('PostgresProducer', options.queueName);
    this.#attempts = checkOption('PostgresProducer', 'attempts', options.attempts, 3, 'whole');
    this.#backoff = checkBackoff(options.backoff);
    this.#delay = checkOption('PostgresProducer', 'delay', options.delay, 0, 'non-negative');
    this.#sendTimeoutMs = checkOption(
      'PostgresProducer',
      'sendTimeoutMs',
      options.sendTimeoutMs,
      5_000,
      'positive',
    );
    this.#maxBatch = checkOption('PostgresProducer', 'maxBatchSize', options.maxBatchSize, 500, 'whole');
    this.#sql = queueSql(this.#schema);
    this.#options = options;
  }

  /** The pool messages are inserted through, once open. */
  get pool(): pg.Pool | undefined {
    return this.#opened?.pool.pool;
  }

  async open(channel: WireChannel): Promise<PostgresAddress> {
    const pool = openPool(this.#options.connection, this.#sendTimeoutMs, 10, (error) =>
      channel.report(error, 'connection'),
    );
    const replyChannel = `${this.#schema}_reply_${randomBytes(6).toString('hex')}`;
    const listener = new Listener(pool.pool, [replyChannel], this.#sendTimeoutMs, {
      notify: (_name, payload) => this.#onReply(payload),
      lost: (error) => {
        // Replies sent while the connection was down are lost: fail the waiting queries now.
        channel.rejectPending(
          new TransportError('The connection listening for query replies was lost', { cause: error }),
        );
        channel.report(error, 'connection');
      },
      ready: () => undefined,
    });
    const address: PostgresAddress = { schema: this.#schema, queueName: this.#queueName };
    try {
      await requireMigrated(
        boundedQueries(pool.pool, this.#sendTimeoutMs, 'PostgresProducer could not reach PostgreSQL'),
        this.#schema,
        QUEUE_VERSION,
        'PostgresProducer',
      );
      await listener.open();
    } catch (error) {
      await listener.close();
      await pool.close();
      throw error;
    }
    this.#opened = { pool, listener, replyChannel, channel };
    return address;
  }

  send(outgoing: OutgoingMessage): Promise<undefined> {
    const opened = this.#opened!;
    if (outgoing.expectsReply && outgoing.delivery?.dedupeKey !== undefined) {
      // A query dropped as a duplicate would get no reply: its caller would wait for nothing.
      return Promise.reject(
        new ConfigurationError(
          `"${outgoing.message.name}" is a query: dedupeKey applies to commands and events (a deduplicated query would get no reply)`,
        ),
      );
    }
    if (outgoing.expectsReply && opened.listener.status !== 'ready') {
      return Promise.reject(
        new TransportError(
          `The PostgreSQL reply listener is ${opened.listener.status}: "${outgoing.message.name}" could get no reply`,
        ),
      );
    }
    return new Promise<undefined>((resolve, reject) => {
      this.#queued.push({ outgoing, resolve: () => resolve(undefined), reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  readonly #flush = (): void => {
    this.#flushScheduled = false;
    const queued = this.#queued;
    this.#queued = [];
    for (let start = 0; start < queued.length; start += this.#maxBatch) {
      void this.#insert(queued.slice(start, start + this.#maxBatch));
    }
  };

  async #insert(batch: Queued[]): Promise<void> {
    const opened = this.#opened;
    if (opened === undefined) {
      for (const item of batch) item.reject(new ProducerClosedError());
      return;
    }
    const replyTo = opened.replyChannel;
    try {
      await bounded(
        opened.pool.pool.query(
          prepared(
            this.#sql.insert,
            this.insertValues(
              batch.map((item) => item.outgoing),
              replyTo,
            ),
          ),
        ),
        this.#sendTimeoutMs,
        `PostgresProducer could not queue ${batch.length === 1 ? `"${batch[0]!.outgoing.message.name}"` : `${batch.length} messages`} on "${this.#queueName}"`,
      );
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    for (const item of batch) item.resolve();
  }

  /** The `INSERT` of {@link insertValues}. */
  get insertSql(): string {
    return this.#sql.insert;
  }

  /**
   * The parameters of the `INSERT` for `messages`: commands and events get `attempts` tries,
   * queries one (a second answer would reach nobody) and the reply channel.
   */
  insertValues(
    messages: readonly (Pick<OutgoingMessage, 'message' | 'data' | 'expectsReply'> &
      Partial<Pick<OutgoingMessage, 'delivery'>>)[],
    replyTo?: string,
  ): unknown[] {
    const delays: number[] = [];
    const dedupeKeys: (string | null)[] = [];
    const ids: string[] = [];
    const names: string[] = [];
    const envelopes: string[] = [];
    const encodings: (string | null)[] = [];
    const replyTos: (string | null)[] = [];
    const attempts: number[] = [];
    for (const { message, data, expectsReply, delivery } of messages) {
      const stored = toStored(data);
      delays.push(delivery?.delayMs ?? this.#delay);
      dedupeKeys.push(delivery?.dedupeKey ?? null);
      ids.push(message.id);
      names.push(message.name);
      envelopes.push(stored.envelope);
      encodings.push(stored.encoding);
      replyTos.push(expectsReply ? (replyTo ?? null) : null);
      attempts.push(message.kind === 'query' ? 1 : this.#attempts);
    }
    return [
      this.#queueName,
      this.#backoff.type,
      this.#backoff.delay,
      delays,
      ids,
      names,
      envelopes,
      encodings,
      replyTos,
      attempts,
      dedupeKeys,
    ];
  }

  /** A reply notification: the reply itself, or the id of a stored one to read. */
  #onReply(payload: string): void {
    const opened = this.#opened;
    if (opened === undefined) return;
    let parsed: ReturnType<typeof fromReplyPayload>;
    try {
      parsed = fromReplyPayload(payload);
    } catch (error) {
      opened.channel.report(error, 'reply');
      return;
    }
    if ('reply' in parsed) {
      opened.channel.reply(parsed.reply);
      return;
    }
    opened.pool.pool
      .query<{ payload: string; encoding: string | null }>(prepared(this.#sql.takeReply, [parsed.rowId]))
      .then((result) => {
        const row = result.rows[0];
        if (row !== undefined) opened.channel.reply(fromStored(row.payload, row.encoding));
      })
      .catch((error: unknown) => opened.channel.report(error, 'reply'));
  }

  /**
   * A query whose caller stopped waiting: its row is deleted if no consumer took it yet, else the
   * consumer running it is notified and aborts the handler's signal.
   */
  cancel({ message, expectsReply }: OutgoingMessage): void {
    const opened = this.#opened;
    if (opened === undefined || !expectsReply) return;
    opened.pool.pool
      .query(prepared(this.#sql.cancel, [this.#queueName, message.id]))
      .catch((error: unknown) => opened.channel.report(error, 'connection'));
  }

  async close(drained: boolean): Promise<void> {
    const opened = this.#opened;
    if (opened === undefined) return;
    if (!drained) {
      const queued = this.#queued;
      this.#queued = [];
      for (const item of queued) item.reject(new ProducerClosedError());
    }
    this.#opened = undefined;
    await opened.listener.close();
    await opened.pool.close();
  }
}

/** Checks a `backoff` option (ms, or `{ type, delay }`); the default is exponential from 1 s. */
export function checkBackoff(
  backoff: PostgresProducerOptions['backoff'],
  component = 'PostgresProducer',
): Backoff {
  if (backoff === undefined) return { type: 'exponential', delay: 1_000 };
  if (typeof backoff === 'number') {
    return { type: 'fixed', delay: checkOption(component, 'backoff', backoff, 0, 'non-negative') };
  }
  if (backoff.type !== 'fixed' && backoff.type !== 'exponential') {
    throw new ConfigurationError(
      `${component}: backoff.type must be "fixed" or "exponential", got ${String(backoff.type)}`,
    );
  }
  return {
    type: backoff.type,
    delay: checkOption(component, 'backoff.delay', backoff.delay, 0, 'non-negative'),
  };
}
