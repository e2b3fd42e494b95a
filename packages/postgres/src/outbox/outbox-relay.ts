import {
  type AnyMessage,
  backoffDelay,
  ConfigurationError,
  checkOption,
  describeError,
  ErrorReporter,
  type ErrorReportingOptions,
  failureOutcome,
  fulfilledWithin,
  JsonCodec,
  Lifecycle,
  type LifecycleOptions,
  type LifecycleState,
  type MessageCodec,
  reportDeadLetter,
  TransportError,
} from '@switchyard/core';
import type { Notification, Pool, PoolClient } from 'pg';
import type { OpenedPool, PgConnection } from '../connection.ts';
import { DEFAULT_SCHEMA, requireMigrated } from '../migrate.ts';
import { acquireClient, asTransportError } from './acquire-client.ts';
import { loadEnvelope } from './outbox-envelope.ts';
import { openOutboxPool } from './outbox-pool.ts';
import { OUTBOX_MIGRATION, OutboxSql } from './outbox-sql.ts';
import { checkTargets, deliver, type OutboxTargets } from './outbox-target.ts';

/** Options of {@link OutboxRelay}. */
export interface OutboxRelayOptions extends LifecycleOptions, ErrorReportingOptions {
  /**
   * How to reach PostgreSQL: a `postgres://` URL, a node-postgres `PoolConfig`, or a `pg.Pool`. From a
   * URL or config the relay opens a pool of its own (3 connections: one per batch, one held for
   * LISTEN, one spare) and ends it on close; a pool you pass is never ended by the relay.
   */
  readonly connection: PgConnection;
  /** The schema `migrate()` created the outbox tables in. @default 'switchyard' */
  readonly schema?: string | undefined;
  /**
   * Where messages go, by the name `outbox.to(name)` stored with them: producers (BullMQ, HTTP,
   * ZeroMQ, Postgres queue, in-memory) or buses (their local handlers run the message). The relay
   * does not start or close them. A message whose target is missing here is retried, then dead-lettered.
   */
  readonly targets: OutboxTargets;
  /** Decodes the stored envelopes; the outbox's codec. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
  /** Streams forwarded at once (each stream one message at a time, in order). @default 16 */
  readonly concurrency?: number | undefined;
  /** Messages read per stream per batch; the batch's deliveries are committed together. @default 100 */
  readonly batchSize?: number | undefined;
  /**
   * How often the relay looks for messages when no NOTIFY woke it (LISTEN down, `listen: false`,
   * retries coming due). @default 1_000
   */
  readonly pollIntervalMs?: number | undefined;
  /** LISTEN for commits, so a committed message is forwarded in milliseconds. @default true */
  readonly listen?: boolean | undefined;
  /** Attempts per message before it becomes a dead letter. @default 10 */
  readonly maxAttempts?: number | undefined;
  /** Delay before the first retry; doubled per attempt up to `maxBackoffMs`. @default 1_000 */
  readonly backoffMs?: number | undefined;
  /** Longest delay between two attempts. @default 60_000 */
  readonly maxBackoffMs?: number | undefined;
  /**
   * How long a target may take to accept one message before the attempt counts as failed
   * (`SWITCHYARD_TRANSPORT_ERROR`) and is retried. @default 30_000
   */
  readonly deliveryTimeoutMs?: number | undefined;
  /** How long the relay waits for a connection from the pool before the batch fails. @default 10_000 */
  readonly connectTimeoutMs?: number | undefined;
}

/** What one batch did. */
export interface RelayBatchResult {
  /** Streams the batch claimed. */
  readonly streams: number;
  /** Messages the targets took (deleted from the outbox). */
  readonly delivered: number;
  /** Messages that failed and were scheduled for another attempt. */
  readonly retried: number;
  /** Messages moved to the dead letters. */
  readonly deadLettered: number;
  /** In how many ms the earliest retry this batch scheduled comes due (`undefined`: none). */
  readonly nextRetryMs?: number | undefined;
}

interface OutboxRow {
  readonly position: string;
  readonly message_id: string;
  readonly name: string;
  readonly target: string;
  readonly stream: string;
  readonly envelope: string;
  readonly encoding: string | null;
  readonly attempts_made: number;
  readonly due: boolean;
}

/** A stream: the messages of one target with one stream key. */
interface Lane {
  readonly target: string;
  readonly stream: string;
}

interface ClaimRow extends Lane {
  readonly claimed: boolean;
  readonly visited: number;
}

/** Where a claim's walk over the streams starts: before the first. */
const START: Lane = Object.freeze({ target: '', stream: '' });

/** Streams a claim visits at least (see `OutboxSql.claim`). */
const SCAN_STREAMS = 256;

interface Failure {
  readonly position: string;
  readonly reason: string;
  readonly attempts: number;
  readonly delayMs: number;
}

interface Outcomes {
  readonly delivered: string[];
  readonly retries: Failure[];
  readonly dead: Failure[];
}

/**
 * Forwards committed outbox messages to their targets: at least once, in commit order per stream,
 * retrying with exponential backoff, parking messages that fail for good as dead letters (see
 * `OutboxDeadLetters`). A LISTEN connection wakes it on every commit that wrote to the outbox; it
 * polls every `pollIntervalMs` as well. Run as many relays (processes) as you like: each stream is
 * forwarded by one relay at a time (a transaction-level advisory lock per stream).
 *
 * Each batch runs in one transaction: claim up to `concurrency` due streams, forward up to
 * `batchSize` messages of each, delete what the targets took, commit. A relay killed mid-batch
 * leaves the batch's messages in the outbox; they are forwarded again (duplicates, never losses).
 *
 * @example
 * const relay = new OutboxRelay({ connection: pool, targets: { billing: bullmqProducer } });
 * await relay.start();
 * // …
 * await relay.close();
 */
export class OutboxRelay {
  readonly #connection: PgConnection;
  #opened: OpenedPool | undefined;
  readonly #sql: OutboxSql;
  readonly #targets: OutboxTargets;
  readonly #codec: MessageCodec;
  readonly #errors: ErrorReporter;
  readonly #lifecycle: Lifecycle<string>;
  readonly #concurrency: number;
  readonly #batchSize: number;
  readonly #pollIntervalMs: number;
  readonly #listen: boolean;
  readonly #maxAttempts: number;
  readonly #backoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #deliveryTimeoutMs: number;
  readonly #connectTimeoutMs: number;
  #running: Promise<void> | undefined;
  #listener: PoolClient | undefined;
  #relisten: ReturnType<typeof setTimeout> | undefined;
  #signalled = false;
  #wakeUp: (() => void) | undefined;
  #batches: Promise<unknown> = Promise.resolve();
  /** Where the next claim's walk over the streams starts. */
  #cursor: Lane = START;
  /** Fired when `close()` ran out of time: the batch stops waiting for its targets. */
  readonly #cutOff = new AbortController();

  constructor(options: OutboxRelayOptions) {
    if (typeof options !== 'object' || options === null || options.connection === undefined) {
      throw new ConfigurationError(
        'OutboxRelay: give a connection (a postgres:// URL, a PoolConfig or a pg.Pool)',
      );
    }
    this.#connection = options.connection;
    this.#sql = new OutboxSql(options.schema ?? DEFAULT_SCHEMA);
    this.#targets = checkTargets('OutboxRelay', options.targets);
    this.#codec = options.codec ?? new JsonCodec();
    this.#errors = new ErrorReporter('OutboxRelay', 'postgres', options);
    this.#lifecycle = new Lifecycle('OutboxRelay', options);
    const check = (name: string, value: number | undefined, fallback: number, rule: 'positive' | 'whole') =>
      checkOption('OutboxRelay', name, value, fallback, rule);
    this.#concurrency = check('concurrency', options.concurrency, 16, 'whole');
    this.#batchSize = check('batchSize', options.batchSize, 100, 'whole');
    this.#pollIntervalMs = check('pollIntervalMs', options.pollIntervalMs, 1_000, 'positive');
    this.#maxAttempts = check('maxAttempts', options.maxAttempts, 10, 'whole');
    this.#backoffMs = checkOption('OutboxRelay', 'backoffMs', options.backoffMs, 1_000, 'non-negative');
    this.#maxBackoffMs = checkOption(
      'OutboxRelay',
      'maxBackoffMs',
      options.maxBackoffMs,
      60_000,
      'non-negative',
    );
    this.#deliveryTimeoutMs = check('deliveryTimeoutMs', options.deliveryTimeoutMs, 30_000, 'positive');
    this.#connectTimeoutMs = check('connectTimeoutMs', options.connectTimeoutMs, 10_000, 'positive');
    this.#listen = options.listen ?? true;
  }

  /** The pool: opened on first use (see `connection`). */
  get #pool(): Pool {
    this.#opened ??= openOutboxPool(this.#connection, this.#connectTimeoutMs, 3, (error) =>
      this.#errors.report(error, 'connection'),
    );
    return this.#opened.pool;
  }

  /** The schema the relay reads. */
  get schema(): string {
    return this.#sql.schema;
  }

  /** `new`, `starting`, `started`, `closing` or `closed`. */
  get state(): LifecycleState {
    return this.#lifecycle.state;
  }

  /** 1 while a batch runs, else 0. */
  get inFlight(): number {
    return this.#lifecycle.inFlight.size;
  }

  /**
   * Checks that the schema is migrated (`SWITCHYARD_INVALID_CONFIGURATION` naming `migrate()` if
   * not), opens the LISTEN connection and starts forwarding. Rejects with
   * `SWITCHYARD_TRANSPORT_ERROR` when PostgreSQL does not answer within `connectTimeoutMs`.
   * Resolves with `outbox:<schema>`. Once; a second call gets the same promise.
   */
  start(): Promise<string> {
    return this.#lifecycle.start(async () => {
      const client = await acquireClient(this.#pool, this.#connectTimeoutMs, 'OutboxRelay');
      let broken: Error | undefined;
      try {
        await requireMigrated(client, this.schema, OUTBOX_MIGRATION, 'OutboxRelay');
      } catch (error) {
        if ((error as { code?: unknown }).code !== 'SWITCHYARD_INVALID_CONFIGURATION')
          broken = error as Error;
        throw asTransportError(error, 'OutboxRelay: cannot read the schema');
      } finally {
        client.release(broken);
      }
      if (this.#listen) await this.#openListener();
      this.#running = this.#run();
      return `outbox:${this.schema}`;
    });
  }

  /**
   * Stops claiming streams, lets the batch in progress finish the messages it is forwarding and
   * commit (up to `closeTimeoutMs`; past it the batch stops waiting for its targets and commits what
   * they took), and releases its connections (a pool you passed stays open, and so do the
   * targets). Once; a second call awaits the first.
   */
  close(): Promise<void> {
    return this.#lifecycle.close({
      stopIntake: () => {
        clearTimeout(this.#relisten);
        this.#wake();
      },
      release: async (drained, deadline) => {
        // Past the deadline: stop waiting for the target of the message in progress. Its row stays
        // in the outbox (no attempt counted) and is forwarded again later — at least once.
        if (!drained) this.#cutOff.abort();
        const listener = this.#listener;
        this.#listener = undefined;
        listener?.release();
        if (this.#running !== undefined)
          await fulfilledWithin(this.#running, Math.max(0, deadline - Date.now()));
        await this.#opened?.close();
      },
    });
  }

  /**
   * Runs one batch now and says what it did: for tests and for deployments that drive the relay
   * from a scheduler instead of `start()`. Batches never overlap (a tick during a running batch
   * waits for it). Rejects with `SWITCHYARD_TRANSPORT_ERROR` when PostgreSQL fails.
   */
  tick(): Promise<RelayBatchResult> {
    if (this.#lifecycle.state === 'closed') {
      return Promise.reject(new ConfigurationError('OutboxRelay is closed; create a new one'));
    }
    const run = this.#batches.then(() => this.#batch());
    this.#batches = run.catch(() => undefined);
    return run;
  }

  /** Messages waiting in the outbox (all streams, including those waiting for a retry). */
  async pending(): Promise<number> {
    try {
      const result = await this.#pool.query<{ count: number }>(this.#sql.pendingCount);
      return result.rows[0]?.count ?? 0;
    } catch (error) {
      throw asTransportError(error, 'OutboxRelay: cannot count the outbox');
    }
  }

  async #run(): Promise<void> {
    let failures = 0;
    /** When the earliest retry this relay scheduled comes due (ms since the epoch). */
    let retryAt = Number.POSITIVE_INFINITY;
    while (!this.#lifecycle.closing) {
      let delay = this.#pollIntervalMs;
      this.#lifecycle.inFlight.enter();
      try {
        const result = await this.tick();
        failures = 0;
        if (Date.now() >= retryAt) retryAt = Number.POSITIVE_INFINITY;
        if (result.nextRetryMs !== undefined) retryAt = Math.min(retryAt, Date.now() + result.nextRetryMs);
        if (result.streams > 0) delay = 0;
        else delay = Math.max(0, Math.min(delay, retryAt - Date.now()));
      } catch (error) {
        failures++;
        this.#errors.report(error, 'connection');
        delay = Math.min(this.#pollIntervalMs * 2 ** Math.min(failures - 1, 5), 30_000);
      } finally {
        this.#lifecycle.inFlight.leave();
      }
      if (this.#lifecycle.closing) break;
      if (delay === 0) await new Promise((resolve) => setImmediate(resolve));
      else await this.#sleep(delay);
    }
  }

  async #batch(): Promise<RelayBatchResult> {
    const client = await acquireClient(this.#pool, this.#connectTimeoutMs, 'OutboxRelay');
    let broken: Error | undefined;
    try {
      await client.query('BEGIN');
      const claimed = await this.#claim(client);
      if (claimed.length === 0) {
        await client.query('COMMIT');
        return { streams: 0, delivered: 0, retried: 0, deadLettered: 0 };
      }
      const read = await client.query<OutboxRow>(this.#sql.read, [
        claimed.map((lane) => lane.target),
        claimed.map((lane) => lane.stream),
        this.#batchSize,
      ]);
      const lanes = new Map<string, OutboxRow[]>();
      for (const row of read.rows) {
        const key = `${row.target}\u0000${row.stream}`;
        const lane = lanes.get(key);
        if (lane === undefined) lanes.set(key, [row]);
        else lane.push(row);
      }
      const outcomes: Outcomes = { delivered: [], retries: [], dead: [] };
      await Promise.all([...lanes.values()].map((lane) => this.#forward(lane, outcomes)));
      await this.#record(client, outcomes);
      await client.query('COMMIT');
      return {
        streams: claimed.length,
        delivered: outcomes.delivered.length,
        retried: outcomes.retries.length,
        deadLettered: outcomes.dead.length,
        nextRetryMs:
          outcomes.retries.length === 0
            ? undefined
            : Math.min(...outcomes.retries.map((retry) => retry.delayMs)),
      };
    } catch (error) {
      broken = error as Error;
      await client.query('ROLLBACK').catch(() => undefined);
      throw asTransportError(error, 'OutboxRelay: batch failed');
    } finally {
      client.release(broken);
    }
  }

  /**
   * Claims up to `concurrency` due streams among the next {@link SCAN_STREAMS} after the cursor;
   * when the walk reaches the last stream, the cursor goes back to the first (and, if that claim
   * came up short, the walk goes on from there in the same transaction).
   */
  async #claim(client: PoolClient): Promise<Lane[]> {
    const claimed = new Map<string, Lane>();
    const scan = Math.max(SCAN_STREAMS, this.#concurrency * 4);
    for (let walk = 0; walk < 2; walk++) {
      const from = this.#cursor;
      const result = await client.query<ClaimRow>(this.#sql.claim, [
        this.#concurrency - claimed.size,
        from.target,
        from.stream,
        scan,
      ]);
      let visited = 0;
      for (const row of result.rows) {
        if (row.claimed)
          claimed.set(`${row.target}\u0000${row.stream}`, { target: row.target, stream: row.stream });
        else {
          visited = row.visited;
          this.#cursor = { target: row.target, stream: row.stream };
        }
      }
      if (visited >= scan) break; // more streams after the cursor: the next batch goes on from there
      this.#cursor = START;
      if (from === START || claimed.size >= this.#concurrency) break;
    }
    return [...claimed.values()];
  }

  /** Forwards one stream's rows in order; stops at a failure that will be retried (order), or at close. */
  async #forward(lane: readonly OutboxRow[], outcomes: Outcomes): Promise<void> {
    for (const row of lane) {
      if (this.#lifecycle.closing || !row.due) return;
      let message: AnyMessage | undefined;
      try {
        const target = this.#targets[row.target];
        if (target === undefined) {
          throw new ConfigurationError(
            `OutboxRelay: no target named "${row.target}"; add it to the relay's targets`,
          );
        }
        message = loadEnvelope(this.#codec, row.envelope, row.encoding);
        await withinDelivery(deliver(target, message), this.#deliveryTimeoutMs, row, this.#cutOff.signal);
        outcomes.delivered.push(row.position);
      } catch (error) {
        if (this.#cutOff.signal.aborted) return;
        const attempts = row.attempts_made + 1;
        const reason = describeError(error);
        const final = !failureOutcome(error).retry || attempts >= this.#maxAttempts;
        this.#errors.report(error, 'receive', {
          messageId: message?.id ?? row.message_id,
          messageName: row.name,
          target: row.target,
          stream: row.stream,
          attempts,
          deadLetter: final,
        });
        if (final) {
          reportDeadLetter({ message, transport: 'outbox', error });
          outcomes.dead.push({ position: row.position, reason, attempts, delayMs: 0 });
          continue;
        }
        const backoff = { type: 'exponential', delay: this.#backoffMs } as const;
        const delayMs = Math.min(this.#maxBackoffMs, backoffDelay(backoff, attempts));
        outcomes.retries.push({ position: row.position, reason, attempts, delayMs });
        return;
      }
    }
  }

  async #record(client: PoolClient, outcomes: Outcomes): Promise<void> {
    if (outcomes.delivered.length > 0) await client.query(this.#sql.deleteDelivered, [outcomes.delivered]);
    const { dead, retries } = outcomes;
    if (dead.length > 0) {
      await client.query(this.#sql.bury, [
        dead.map((failure) => failure.position),
        dead.map((failure) => failure.reason),
        dead.map((failure) => failure.attempts),
      ]);
    }
    if (retries.length > 0) {
      await client.query(this.#sql.retry, [
        retries.map((failure) => failure.position),
        retries.map((failure) => failure.reason),
        retries.map((failure) => failure.attempts),
        retries.map((failure) => failure.delayMs),
      ]);
    }
  }

  async #openListener(): Promise<void> {
    const client = await acquireClient(this.#pool, this.#connectTimeoutMs, 'OutboxRelay');
    client.on('notification', (notification: Notification) => {
      if (notification.channel === this.#sql.channel) this.#wake();
    });
    client.on('error', (error: Error) => this.#listenerFailed(client, error));
    try {
      await client.query(`LISTEN "${this.#sql.channel}"`);
    } catch (error) {
      client.release(error as Error);
      throw asTransportError(error, 'OutboxRelay: LISTEN failed');
    }
    this.#listener = client;
  }

  /** The LISTEN connection broke: report, poll meanwhile, listen again after `pollIntervalMs`. */
  #listenerFailed(client: PoolClient, error: Error): void {
    if (this.#listener !== client) return;
    this.#listener = undefined;
    client.release(error);
    this.#errors.report(error, 'connection', { listen: true });
    this.#scheduleRelisten();
  }

  #scheduleRelisten(): void {
    if (this.#lifecycle.closing) return;
    this.#relisten = setTimeout(() => {
      this.#openListener().then(
        () => this.#wake(), // a commit may have been missed while no one listened
        (error: unknown) => {
          this.#errors.report(error, 'connection', { listen: true });
          this.#scheduleRelisten();
        },
      );
    }, this.#pollIntervalMs);
  }

  #wake(): void {
    this.#signalled = true;
    this.#wakeUp?.();
  }

  #sleep(ms: number): Promise<void> {
    if (this.#signalled) {
      this.#signalled = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        this.#signalled = false;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.#wakeUp = finish;
    });
  }
}

/** The target's promise, or a `TransportError` after `timeoutMs`. */
async function withinDelivery(
  promise: Promise<unknown>,
  timeoutMs: number,
  row: OutboxRow,
  cutOff: AbortSignal,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let onAbort: (() => void) | undefined;
  const timeout = new Promise<never>((_, reject) => {
    onAbort = () =>
      reject(new TransportError('OutboxRelay closed while the target had not taken the message'));
    cutOff.addEventListener('abort', onAbort, { once: true });
    timer = setTimeout(
      () =>
        reject(
          new TransportError(`Target "${row.target}" did not take "${row.name}" within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
  });
  try {
    await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) cutOff.removeEventListener('abort', onAbort);
  }
}
