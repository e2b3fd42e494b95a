import { randomUUID } from 'node:crypto';
import {
  backoffDelay,
  ConfigurationError,
  checkOption,
  deliveryFate,
  failedReason,
  fulfilledWithin,
  type ReceiveResult,
  type Reply,
  reportDeadLetter,
  TransportConsumer,
  type TransportConsumerOptions,
} from '@switchyard/core';
import type pg from 'pg';
import type { QueryConfig } from 'pg';
import { Batcher } from './batcher.ts';
import { bounded, type OpenedPool, openPool, type PgConnection } from './connection.ts';
import { Listener } from './listener.ts';
import { checkSchemaName, DEFAULT_SCHEMA, requireMigrated } from './migrate.ts';
import type { PostgresAddress } from './postgres-address.ts';
import { checkQueueName } from './postgres-wire.ts';
import { channels, type FetchedRow, prepared, QUEUE_VERSION, type QueueSql, queueSql } from './queue-sql.ts';
import { fromStored, toReplyPayload, toStored } from './wire-format.ts';

/**
 * Options of the {@link PostgresConsumer}: the queue to read, plus core's consumer options — the
 * buses, `definitions`, `codec`, `exposeErrorStack`, `closeTimeoutMs` (10_000), `onError`, `logger`.
 */
export interface PostgresConsumerOptions extends TransportConsumerOptions {
  /**
   * A `postgres://` URL, a node-postgres `PoolConfig`, or an existing `pg.Pool` (used as is, never
   * ended by the consumer). From a URL or config the consumer opens a pool of its own (at most 4
   * connections, connects and statements bounded by `startTimeoutMs`). In `'listen'` mode one
   * connection is held for good to `LISTEN`.
   */
  readonly connection: PgConnection;
  /** The queue to consume: the producer's `queueName`. */
  readonly queueName: string;
  /** The schema `migrate()` created. @default 'switchyard' */
  readonly schema?: string | undefined;
  /** Messages handled at once (and most fetched in one statement). @default 10 */
  readonly concurrency?: number | undefined;
  /**
   * `'listen'`: `start()` begins consuming, woken within milliseconds by `NOTIFY` (and polling every
   * `pollIntervalMs` as a fallback). `'tick'`: nothing runs by itself; each `tick()` consumes what is
   * ready and resolves once it is handled — for deployments that drive consumption from a scheduler.
   * @default 'listen'
   */
  readonly mode?: 'listen' | 'tick' | undefined;
  /** The fallback poll when no `NOTIFY` arrives (also how soon a delayed or retried message is seen). @default 1_000 */
  readonly pollIntervalMs?: number | undefined;
  /**
   * How long a fetched message is leased to this consumer. The lease is renewed every third of it
   * while the handler runs; a consumer that dies holds its messages at most this long, then any
   * consumer of the queue takes them again (counted as a try).
   * @default 30_000
   */
  readonly leaseMs?: number | undefined;
  /** How often expired leases (stalled messages) are looked for. @default 5_000 */
  readonly stalledIntervalMs?: number | undefined;
  /** `start()`: how long to wait for PostgreSQL before rejecting with `SWITCHYARD_TRANSPORT_ERROR`; also bounds each statement. @default 10_000 */
  readonly startTimeoutMs?: number | undefined;
  /**
   * Every background failure and where it happened: a message that failed (`context.stage` is
   * `'receive'`; `context.row` has its `id`, `attemptsMade`, `fate`), a reply not sent (`'reply'`),
   * PostgreSQL errors (`'connection'`), a failed close (`'close'`).
   * @default undefined — failures go to `logger`
   */
  readonly onError?: TransportConsumerOptions['onError'];
}

/** A message being handled. */
interface Running {
  readonly row: FetchedRow;
  readonly controller: AbortController;
}

/**
 * Core's receive pipeline on a PostgreSQL queue table: rows are taken with
 * `FOR UPDATE SKIP LOCKED` (so any number of consumers in any number of processes compete safely),
 * leased, handled, then deleted. What becomes of a failed message is read from core's outcome table
 * (`deliveryFate`): a handler error is retried with backoff, then kept as a dead letter; an
 * undecodable, invalid or unknown message is a dead letter at once; an expired one is dropped
 * unrun; an answered query is done. A query's reply goes back by `NOTIFY` on its producer's channel.
 *
 * @example
 * const consumer = new PostgresConsumer({ connection: pool, queueName: 'billing', commandBus, queryBus });
 * await consumer.start();
 * process.on('SIGTERM', () => void consumer.close());
 */
export class PostgresConsumer extends TransportConsumer<PostgresAddress> {
  readonly #options: PostgresConsumerOptions;
  readonly #schema: string;
  readonly #queueName: string;
  readonly #sql: QueueSql;
  readonly #mode: 'listen' | 'tick';
  readonly #pollMs: number;
  readonly #leaseMs: number;
  readonly #stalledMs: number;
  readonly #timeoutMs: number;
  readonly #id = randomUUID();
  readonly #running = new Map<string, Running>();
  #pool: OpenedPool | undefined;
  #listener: Listener | undefined;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #woken = false;
  #timers: NodeJS.Timeout[] = [];
  /** Deletes of handled rows finished in the same tick: one statement. */
  readonly #completions = new Batcher<string>((ids) =>
    this.#query(prepared(this.#sql.complete, [ids, this.#id])),
  );
  /** Replies finished in the same tick: one `SELECT pg_notify(…)` over all of them. */
  readonly #replies = new Batcher<readonly [string, string]>((replies) =>
    this.#query(
      prepared(this.#sql.notifyReplies, [replies.map((reply) => reply[0]), replies.map((reply) => reply[1])]),
    ),
  );
  #ticking: Promise<number> | undefined;

  readonly #component: string;

  /** @param component the class name errors name (a subclass passes its own). */
  constructor(options: PostgresConsumerOptions, component = 'PostgresConsumer') {
    super(component, 'postgres', options, 10);
    this.#component = component;
    if (options.connection === undefined) {
      throw new ConfigurationError(
        `${component}: connection is required (a URL, a pg PoolConfig or a pg.Pool)`,
      );
    }
    this.#schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
    this.#queueName = checkQueueName(component, options.queueName);
    const mode = options.mode ?? 'listen';
    if (mode !== 'listen' && mode !== 'tick') {
      throw new ConfigurationError(`${component}: mode must be "listen" or "tick", got ${String(mode)}`);
    }
    this.#mode = mode;
    this.#pollMs = checkOption(component, 'pollIntervalMs', options.pollIntervalMs, 1_000, 'positive');
    this.#leaseMs = checkOption(component, 'leaseMs', options.leaseMs, 30_000, 'positive');
    this.#stalledMs = checkOption(
      component,
      'stalledIntervalMs',
      options.stalledIntervalMs,
      5_000,
      'positive',
    );
    this.#timeoutMs = checkOption(component, 'startTimeoutMs', options.startTimeoutMs, 10_000, 'positive');
    this.#sql = queueSql(this.#schema);
    this.#options = options;
  }

  /** The pool the consumer reads through, once started. */
  get pool(): pg.Pool {
    const pool = this.#pool?.pool;
    if (pool === undefined) throw new ConfigurationError(`${this.#component}: await consumer.start() first`);
    return pool;
  }

  /** Dead messages stay in the queue table in state `dead` (see `DeadLetters`): no `deadLetterSink`. */
  protected override get keepsDeadLetters(): boolean {
    return true;
  }

  protected async open(): Promise<PostgresAddress> {
    const opened = openPool(this.#options.connection, this.#timeoutMs, 4, (error) =>
      this.errors.report(error, 'connection'),
    );
    const pool = opened.pool;
    const { wake, cancel } = channels(this.#schema);
    const listener =
      this.#mode === 'listen'
        ? new Listener(pool, [wake, cancel], this.#timeoutMs, {
            notify: (channel, payload) => {
              if (channel === wake) {
                if (payload === this.#queueName) this.#nudge();
              } else this.#running.get(payload)?.controller.abort();
            },
            lost: (error) => this.errors.report(error, 'connection'),
            ready: () => this.#nudge(), // look for what arrived while not listening
          })
        : undefined;
    try {
      await requireMigrated(
        {
          query: (text: string, values?: unknown[]) =>
            bounded(
              pool.query(text, values),
              this.#timeoutMs,
              `${this.#component} could not reach PostgreSQL`,
            ),
        } as Pick<pg.Pool, 'query'>,
        this.#schema,
        QUEUE_VERSION,
        this.#component,
      );
      await this.prepare(pool);
      await listener?.open();
    } catch (error) {
      await listener?.close();
      await opened.close();
      throw error;
    }
    this.#pool = opened;
    this.#listener = listener;
    const renew = setInterval(() => this.#renewLeases(), Math.max(10, this.#leaseMs / 3));
    renew.unref();
    this.#timers.push(renew);
    if (this.#mode === 'listen') {
      const stalled = setInterval(() => void this.#reclaim(), this.#stalledMs);
      stalled.unref();
      this.#timers.push(stalled);
      void this.#reclaim();
      this.#loop = this.#consume();
    }
    return { schema: this.#schema, queueName: this.#queueName };
  }

  /**
   * Runs in `start()` once the schema is known to be migrated, before any message is fetched: a
   * subclass checks or writes what it needs (a topic subscriber upserts its subscription). A
   * rejection fails `start()`.
   */
  protected prepare(_pool: pg.Pool): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Whether a fetched message is handled: one this returns false for is acknowledged (deleted)
   * unhandled. The queue handles every message; a topic subscriber skips events its group no
   * longer subscribes to.
   */
  protected wants(_name: string): boolean {
    return true;
  }

  /**
   * `mode: 'tick'`: takes stalled messages back, then fetches and handles ready messages (at most
   * `concurrency` at a time) until none is ready; resolves with how many it handled. Starts the
   * consumer on first use. A tick already running is joined, not doubled.
   */
  tick(): Promise<number> {
    if (this.#mode !== 'tick') {
      return Promise.reject(new ConfigurationError(`${this.#component}: tick() needs mode: 'tick'`));
    }
    if (this.#ticking !== undefined) return this.#ticking;
    const run = (async () => {
      await this.start();
      if (this.lifecycle.closing) return 0;
      await this.#reclaim();
      let handled = 0;
      const work: Promise<void>[] = [];
      while (!this.#stopped) {
        const wait = this.slotFree();
        if (wait !== undefined) {
          await wait;
          continue;
        }
        const rows = await this.#fetch(this.concurrency - this.inFlight);
        if (rows.length === 0) break;
        handled += rows.length;
        for (const row of rows) work.push(this.track(this.#run(row)));
      }
      await Promise.all(work);
      return handled;
    })();
    this.#ticking = run.finally(() => {
      this.#ticking = undefined;
    });
    return this.#ticking;
  }

  /** The read loop of `'listen'` mode: fetch while there is room and work, else wait for a NOTIFY or the poll. */
  async #consume(): Promise<void> {
    let failures = 0;
    while (!this.#stopped) {
      const wait = this.slotFree();
      if (wait !== undefined) {
        await wait;
        continue;
      }
      this.#woken = false;
      const room = this.concurrency - this.inFlight;
      let rows: FetchedRow[];
      try {
        rows = await this.#fetch(room);
        failures = 0;
      } catch (error) {
        if (this.#stopped) break;
        this.errors.report(error, 'connection');
        failures++;
        await this.#sleep(Math.min(this.#pollMs, 50 * 2 ** failures));
        continue;
      }
      for (const row of rows) void this.track(this.#run(row));
      if (rows.length === room || this.#woken || this.#stopped) continue;
      await this.#sleep(await this.#nextWait());
    }
  }

  /** How long to sleep: until the next delayed/retried message is due, at most the poll interval. */
  async #nextWait(): Promise<number> {
    try {
      const result = await this.pool.query<{ due_ms: number | null }>(
        prepared(this.#sql.nextDue, [this.#queueName]),
      );
      const due = result.rows[0]?.due_ms;
      return due === null || due === undefined ? this.#pollMs : Math.min(this.#pollMs, Math.max(1, due));
    } catch {
      return this.#pollMs; // the fetch will report it
    }
  }

  #fetch(limit: number): Promise<FetchedRow[]> {
    return bounded(
      this.pool.query<FetchedRow>(
        prepared(this.#sql.fetch, [this.#queueName, limit, this.#leaseMs, this.#id]),
      ),
      this.#timeoutMs,
      `${this.#component} could not fetch from "${this.#queueName}"`,
    ).then((result) => result.rows);
  }

  /** Sleeps `ms`, or less when woken (NOTIFY, close). */
  #sleep(ms: number): Promise<void> {
    if (this.#woken || this.#stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = undefined;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
    });
  }

  #nudge(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** One message: through the receive pipeline, its reply sent, then deleted, retried or buried. */
  async #run(row: FetchedRow): Promise<void> {
    if (!this.wants(row.name)) {
      try {
        await this.#complete(row.id);
      } catch (error) {
        this.errors.report(error, 'connection', { messageId: row.message_id });
      }
      return;
    }
    const controller = new AbortController();
    this.#running.set(row.message_id, { row, controller });
    const detail = (fate?: string) => ({
      row: { id: row.id, queueName: this.#queueName, attemptsMade: row.attempts_made, fate },
    });
    let result: ReceiveResult;
    try {
      result = await this.receiver.receive(fromStored(row.envelope, row.encoding), controller.signal);
    } catch (error) {
      result = this.receiver.failed(error);
    }
    try {
      const reply = result.reply;
      const answered = row.reply_to !== null && reply !== undefined;
      if (answered) await this.#reply(row.reply_to!, reply);
      if (result.ok) {
        await this.#complete(row.id);
        return;
      }
      const fate = deliveryFate(result.outcome, row.attempts_made, row.max_attempts, answered);
      this.reportFailure(result, detail(fate));
      if (fate === 'dead-letter') {
        reportDeadLetter({ message: result.message, transport: 'postgres', error: result.error });
      }
      const reason = failedReason(result.error);
      if (fate === 'complete') await this.#complete(row.id);
      else if (fate === 'retry') {
        const delay = backoffDelay({ type: row.backoff_type, delay: row.backoff_ms }, row.attempts_made);
        await this.pool.query(prepared(this.#sql.retry, [row.id, this.#id, delay, reason]));
        if (delay < this.#pollMs) this.#later(delay);
      } else await this.pool.query(prepared(this.#sql.bury, [row.id, this.#id, reason]));
    } catch (error) {
      // The row keeps its lease; once it expires the message is taken again (at least once).
      this.errors.report(error, 'connection', { messageId: row.message_id, ...detail() });
    } finally {
      this.#running.delete(row.message_id);
    }
  }

  /** Wakes the loop after `ms` (a retry due before the next poll). */
  #later(ms: number): void {
    const timer = setTimeout(() => this.#nudge(), ms + 5);
    timer.unref();
  }

  async #reply(channel: string, reply: Reply): Promise<void> {
    try {
      const data = this.receiver.encodeReply(reply);
      const inline = toReplyPayload(data);
      if (inline !== undefined) await this.#replies.add([channel, inline]);
      else {
        const stored = toStored(data);
        await this.pool.query(prepared(this.#sql.storeReply, [channel, stored.envelope, stored.encoding]));
      }
    } catch (error) {
      // The caller times out; the query is not run again (it may not be idempotent).
      this.errors.report(error, 'reply', { messageId: reply.inReplyTo });
    }
  }

  #complete(id: string): Promise<void> {
    return this.#completions.add(id);
  }

  async #query(config: QueryConfig): Promise<void> {
    await this.pool.query(config);
  }

  #renewLeases(): void {
    if (this.#running.size === 0 || this.#pool === undefined) return;
    const ids = [...this.#running.values()].map((running) => running.row.id);
    this.#pool.pool
      .query(prepared(this.#sql.extend, [ids, this.#id, this.#leaseMs]))
      .catch((error: unknown) => this.errors.report(error, 'connection'));
  }

  async #reclaim(): Promise<void> {
    const pool = this.#pool?.pool;
    if (pool === undefined) return;
    try {
      const result = await pool.query<{ ready: number; dead: number }>(
        prepared(this.#sql.reclaim, [this.#queueName]),
      );
      await pool.query(prepared(this.#sql.dropStaleReplies, [Math.max(3_600_000, this.#leaseMs * 2)]));
      if ((result.rows[0]?.ready ?? 0) > 0) this.#nudge();
    } catch (error) {
      if (!this.#stopped) this.errors.report(error, 'connection');
    }
  }

  protected async stopIntake(deadline: number): Promise<void> {
    this.#stopped = true;
    this.#nudge();
    this.wakeSlotWaiters();
    // A fetch in progress finishes, and what it took is handled (and counted) before the drain.
    if (this.#loop !== undefined) await fulfilledWithin(this.#loop, Math.max(0, deadline - Date.now()));
    if (this.#ticking !== undefined) await fulfilledWithin(this.#ticking, Math.max(0, deadline - Date.now()));
  }

  protected async release(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    // Handlers still running keep their lease until it expires; then another consumer takes them
    // (their own delete fails and is reported: the pool is ended).
    await this.#listener?.close();
    await this.#pool?.close();
  }
}
