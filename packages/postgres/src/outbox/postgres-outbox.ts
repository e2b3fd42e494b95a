import { AsyncLocalStorage } from 'node:async_hooks';
import {
  type AnyMessage,
  ConfigurationError,
  checkOption,
  defineTransport,
  InvalidMessageError,
  isMessage,
  isMessageProducer,
  JsonCodec,
  type MessageCodec,
  type TransportDefinition,
  TransportError,
} from '@switchyard/core';
import type { Pool, PoolClient } from 'pg';
import { DEFAULT_SCHEMA } from '../migrate.ts';
import { acquireClient, asTransportError } from './acquire-client.ts';
import { storeEnvelope, streamOf } from './outbox-envelope.ts';
import { type OutboxTransaction, type SqlExecutor, toExecutor } from './outbox-executor.ts';
import { OutboxProducer } from './outbox-producer.ts';
import { OutboxSql } from './outbox-sql.ts';
import { checkTargetName, checkTargets, type OutboxTarget, type OutboxTargets } from './outbox-target.ts';

/** Options of {@link PostgresOutbox}. */
export interface PostgresOutboxOptions {
  /**
   * The pool `transaction()` takes its client from (and `unbound: 'autocommit'` writes through).
   * Not closed by the outbox. Required for `transaction()`; `bind()` needs none.
   * @default undefined
   */
  readonly pool?: Pool | undefined;
  /** The schema `migrate()` created the outbox tables in. @default 'switchyard' */
  readonly schema?: string | undefined;
  /**
   * The relay's targets, by name, so that `outbox.to(producer)` can find the producer's name. Pass
   * the same object to the `OutboxRelay`. With names only (`outbox.to('billing')`) it is not needed.
   * @default {}
   */
  readonly targets?: OutboxTargets | undefined;
  /**
   * What a dispatch to the outbox does when no transaction is bound to it: `'reject'` fails the
   * dispatch with `SWITCHYARD_INVALID_CONFIGURATION` (a handler that forgot its transaction would
   * otherwise publish messages for writes that may roll back); `'autocommit'` writes the message
   * in a statement of its own, committed at once (needs `pool`).
   * @default 'reject'
   */
  readonly unbound?: 'reject' | 'autocommit' | undefined;
  /** Wire format of the stored envelopes; the relay must use the same. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
  /**
   * How long `transaction()` (and an autocommit write) waits for a connection from the pool before
   * it rejects with `SWITCHYARD_TRANSPORT_ERROR`.
   * @default 10_000
   */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Whether a transaction that wrote messages sends a `NOTIFY` (delivered on commit) that wakes the
   * relays at once. PostgreSQL serialises the commits of notifying transactions; with many
   * concurrent writers, `false` trades the wake-up for throughput: the relays then find the
   * messages at their next poll (`pollIntervalMs`).
   * @default true
   */
  readonly notify?: boolean | undefined;
}

/** A message staged in a bound transaction, written just before the transaction commits. */
interface StagedRow {
  readonly target: string;
  readonly stream: string;
  readonly messageId: string;
  readonly name: string;
  readonly envelope: string;
  readonly encoding: string | null;
}

/** What is bound to the current async context. */
interface Binding {
  readonly executor: SqlExecutor;
  /** The client, when the binding came from `transaction()` (a nested `transaction()` joins it). */
  readonly client: PoolClient | undefined;
  readonly staged: StagedRow[];
  /** True once the staged rows were written: later dispatches in this context are refused. */
  flushed: boolean;
}

/**
 * The transactional outbox. Route messages to `outbox.to(target)` instead of to `target`; run the
 * handler's work in `outbox.transaction(fn)` (node-postgres) or `outbox.bind(trx, fn)` (a Kysely
 * transaction, or a pg client you began yourself). A dispatch inside stages the message; it is
 * written into the outbox table in that transaction just before it commits: rolled back with it, or
 * committed with it and then forwarded to `target` by an {@link OutboxRelay}. The handler's code
 * does not change.
 *
 * @example
 * const outbox = new PostgresOutbox({ pool, targets: { billing: bullmqProducer } });
 * router.route(UserRegistered).to(outbox.to('billing'));
 * await outbox.transaction(async (client) => {
 *   await client.query('INSERT INTO users (email) VALUES ($1)', [email]);
 *   await eventBus.dispatch(UserRegistered.create({ email })); // written in this transaction
 * });
 */
export class PostgresOutbox {
  /** The schema of the outbox tables. */
  readonly schema: string;
  readonly #pool: Pool | undefined;
  readonly #targets: OutboxTargets;
  readonly #unbound: 'reject' | 'autocommit';
  readonly #codec: MessageCodec;
  readonly #connectTimeoutMs: number;
  readonly #sql: OutboxSql;
  readonly #context = new AsyncLocalStorage<Binding>();
  readonly #producers = new Map<string, OutboxProducer>();

  constructor(options: PostgresOutboxOptions = {}) {
    this.#sql = new OutboxSql(options.schema ?? DEFAULT_SCHEMA, options.notify ?? true);
    this.schema = this.#sql.schema;
    this.#pool = options.pool;
    this.#targets = checkTargets('PostgresOutbox', options.targets ?? {});
    const unbound = options.unbound ?? 'reject';
    if (unbound !== 'reject' && unbound !== 'autocommit') {
      throw new ConfigurationError(
        `PostgresOutbox: unbound must be 'reject' or 'autocommit', got ${String(unbound)}`,
      );
    }
    if (unbound === 'autocommit' && options.pool === undefined) {
      throw new ConfigurationError("PostgresOutbox: unbound: 'autocommit' needs a pool");
    }
    this.#unbound = unbound;
    this.#codec = options.codec ?? new JsonCodec();
    this.#connectTimeoutMs = checkOption(
      'PostgresOutbox',
      'connectTimeoutMs',
      options.connectTimeoutMs,
      10_000,
      'positive',
    );
  }

  /**
   * The route target that writes messages for `target` into the outbox. `target` is the name the
   * relay knows the real producer (or bus) by, or the producer itself when it is in `targets`.
   * The same name gives the same producer.
   *
   * @example
   * router.route(UserRegistered).to(outbox.to('billing'));
   */
  to(target: string | OutboxTarget): OutboxProducer {
    const name =
      typeof target === 'string' ? checkTargetName('PostgresOutbox', target) : this.#nameOf(target);
    let producer = this.#producers.get(name);
    if (producer === undefined) {
      producer = this.#producer(name);
      this.#producers.set(name, producer);
    }
    return producer;
  }

  /**
   * A named transport for `createSwitchyard` that sends through the outbox and is served by
   * `inner`: messages routed to it are written into the bound transaction, the relay forwards them
   * over `inner` (give the relay `{ [name]: inner.createProducer() }`), and a process that handles
   * them consumes from `inner` as before. It carries no queries. Each process that sends over it
   * gets a producer of its own (closed by `app.close()`).
   *
   * @example
   * const durable = bullmqTransport({ queueName: 'users', connection, consumer: {} });
   * const app = createSwitchyard({
   *   transports: { durable: outbox.transport('durable', durable) }, // was: { durable }
   *   routes: { UserRegistered: 'durable' },
   * });
   * const relay = new OutboxRelay({ connection: pool, targets: { durable: durable.createProducer() } });
   */
  transport(name: string, inner: TransportDefinition): TransportDefinition<false> {
    checkTargetName('PostgresOutbox', name);
    return defineTransport({
      kind: `outbox → ${inner.kind}`,
      capabilities: {
        replies: false,
        confirmsHandling: false,
        durable: true,
        ...(inner.capabilities.fanOut === true ? { fanOut: true } : {}),
      },
      producer: () => this.#producer(name),
      consumer: inner.consumes ? (wiring) => inner.createConsumer(wiring) : undefined,
    });
  }

  #producer(name: string): OutboxProducer {
    return new OutboxProducer(
      name,
      (message, to) => this.#write(message, to),
      `outbox:${this.schema}/${name}`,
    );
  }

  /**
   * Runs `fn` in a node-postgres transaction bound to the outbox: `BEGIN`, `fn(client)`, then
   * `COMMIT` — or `ROLLBACK` when `fn` throws (its error is rethrown). Messages dispatched to the
   * outbox inside `fn` (also from nested async calls) are written with `client` after `fn`
   * resolves, just before the commit (a failed write rolls back and rejects). Inside another
   * `transaction()` it joins the outer one. Rejects with `SWITCHYARD_TRANSPORT_ERROR` when no
   * connection comes within `connectTimeoutMs` or the commit fails — including a commit that
   * PostgreSQL turned into a rollback because a statement in the transaction had failed.
   */
  async transaction<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    const outer = this.#context.getStore();
    if (outer?.client !== undefined) return fn(outer.client);
    const pool = this.#pool;
    if (pool === undefined)
      throw new ConfigurationError('PostgresOutbox: transaction() needs the pool option');
    const client = await acquireClient(pool, this.#connectTimeoutMs, 'PostgresOutbox');
    try {
      await client.query('BEGIN');
    } catch (error) {
      client.release(error as Error);
      throw asTransportError(error, 'PostgresOutbox: BEGIN failed');
    }
    let result: T;
    const binding: Binding = { executor: client, client, staged: [], flushed: false };
    try {
      result = await this.#context.run(binding, () => fn(client));
      await this.#flush(binding);
    } catch (error) {
      let broken: Error | undefined;
      await client.query('ROLLBACK').catch((rollbackError: Error) => {
        broken = rollbackError;
      });
      client.release(broken);
      throw error;
    }
    let committed: { command?: string };
    try {
      committed = await client.query('COMMIT');
    } catch (error) {
      client.release(error as Error);
      throw asTransportError(error, 'PostgresOutbox: COMMIT failed');
    }
    client.release();
    if (committed.command === 'ROLLBACK') {
      throw new TransportError(
        'PostgresOutbox: PostgreSQL rolled the transaction back at COMMIT because a statement in it had failed; nothing was committed or sent',
      );
    }
    return result;
  }

  /**
   * Runs `fn` with `transaction` bound to the outbox: a Kysely transaction (`db.transaction()
   * .execute(trx => outbox.bind(trx, () => …))`) or a pg client you began yourself. Messages
   * dispatched to the outbox inside `fn` are written into `transaction` when `fn` resolves; you
   * commit or roll back (commit right after, so the streams' writer locks are held briefly).
   *
   * @example
   * await db.transaction().execute((trx) =>
   *   outbox.bind(trx, async () => {
   *     await trx.insertInto('users').values({ email }).execute();
   *     await eventBus.dispatch(UserRegistered.create({ email }));
   *   }),
   * );
   */
  async bind<T>(transaction: OutboxTransaction, fn: () => T | Promise<T>): Promise<T> {
    const binding: Binding = {
      executor: toExecutor(transaction),
      client: undefined,
      staged: [],
      flushed: false,
    };
    const result = await this.#context.run(binding, fn);
    await this.#flush(binding);
    return result;
  }

  /** True when the current async context has a transaction bound to this outbox. */
  get bound(): boolean {
    return this.#context.getStore() !== undefined;
  }

  async #write(message: AnyMessage, target: string): Promise<void> {
    if (!isMessage(message)) {
      throw new InvalidMessageError(
        'The outbox stores Switchyard messages only (build them with a definition’s create())',
      );
    }
    if (message.kind === 'query') {
      throw new ConfigurationError(
        `Query "${message.name}" cannot go through the outbox: it carries no replies`,
      );
    }
    const { envelope, encoding } = storeEnvelope(this.#codec, message);
    const row: StagedRow = {
      target,
      stream: streamOf(message),
      messageId: message.id,
      name: message.name,
      envelope,
      encoding,
    };
    const binding = this.#context.getStore();
    if (binding !== undefined) {
      if (binding.flushed) {
        throw new ConfigurationError(
          `"${message.name}" was dispatched to the outbox after its transaction finished: await every dispatch inside outbox.transaction(…) / outbox.bind(…)`,
        );
      }
      binding.staged.push(row);
      return;
    }
    if (this.#unbound === 'reject') {
      throw new ConfigurationError(
        `"${message.name}" was dispatched to the outbox outside a transaction: run the handler in outbox.transaction(…) or outbox.bind(trx, …), or create the outbox with unbound: 'autocommit'`,
      );
    }
    const client = await acquireClient(this.#pool!, this.#connectTimeoutMs, 'PostgresOutbox');
    let broken: Error | undefined;
    try {
      await client.query(this.#sql.insertOne, [
        row.target,
        row.stream,
        row.messageId,
        row.name,
        envelope,
        encoding,
      ]);
    } catch (error) {
      broken = error as Error;
      throw asTransportError(error, `PostgresOutbox: writing "${message.name}" failed`);
    } finally {
      client.release(broken);
    }
  }

  /**
   * Writes the messages staged in `binding` into its transaction: the streams' writer locks in one
   * global order (no deadlock between two outbox transactions), then the rows in dispatch order.
   * Held from here to the commit, the locks make each stream's positions follow commit order.
   */
  async #flush(binding: Binding): Promise<void> {
    binding.flushed = true;
    const rows = binding.staged;
    if (rows.length === 0) return;
    try {
      await binding.executor.query(this.#sql.lockStreams, [rows.map((row) => `${row.target}/${row.stream}`)]);
      await binding.executor.query(this.#sql.insertMany, [
        rows.map((row) => row.target),
        rows.map((row) => row.stream),
        rows.map((row) => row.messageId),
        rows.map((row) => row.name),
        rows.map((row) => row.envelope),
        rows.map((row) => row.encoding),
      ]);
    } catch (error) {
      throw asTransportError(error, `PostgresOutbox: writing ${rows.length} message(s) failed`);
    }
  }

  #nameOf(target: OutboxTarget): string {
    for (const [name, candidate] of Object.entries(this.#targets)) if (candidate === target) return name;
    throw new ConfigurationError(
      `PostgresOutbox: ${isMessageProducer(target) ? 'this producer' : 'this bus'} is not in the outbox's targets; pass targets: { name: producer } or route to outbox.to('name')`,
    );
  }
}
