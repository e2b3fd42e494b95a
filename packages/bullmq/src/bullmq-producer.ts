import { randomUUID } from 'node:crypto';
import {
  type AnyMessage,
  type Deferred,
  JsonCodec,
  type MessageCodec,
  type MessageProducer,
  PendingReplies,
  type ProducerCapabilities,
  ProducerClosedError,
  TransportError,
} from '@switchyard/core';
import { type BackoffOptions, type JobsOptions, type KeepJobs, Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';
import { fromReplyMessage, type JobData, toJobData } from './job-data.ts';
import { toJobId } from './job-id.ts';
import {
  closeRedis,
  type OpenedRedis,
  openRedis,
  type RedisConnection,
  whenReady,
} from './redis-connection.ts';

/** Options of the {@link BullMQProducer}. Give `connection` (with `queueName`) or an existing `queue`. */
export interface BullMQProducerOptions {
  /** The BullMQ queue messages are added to; the consumer must read the same one. Required unless `queue` is given. */
  readonly queueName?: string | undefined;
  /**
   * BullMQ key prefix. On Redis Cluster wrap it in a hash tag, e.g. `{switchyard}`, so every key of
   * the queue lands in one slot (BullMQ's Lua scripts touch several keys at once).
   * @default 'bull'
   */
  readonly prefix?: string | undefined;
  /**
   * ioredis options, a `redis://` URL, or an existing ioredis `Redis`/`Cluster`. From options or a
   * URL the producer opens its own fail-fast connection (`enableOfflineQueue: false`, short connect
   * timeout, one retry per command, endless reconnects at most a second apart). An instance you
   * pass is used as is and never closed by the producer: give it `enableOfflineQueue: false` too if
   * you want `produce` to fail fast.
   * @default { host: '127.0.0.1', port: 6379 } when neither `connection` nor `queue` is given
   */
  readonly connection?: RedisConnection | undefined;
  /**
   * An existing BullMQ `Queue` to add jobs to (its name and prefix win over `queueName`/`prefix`).
   * The producer does not close it. Its job defaults still apply where this producer sets nothing.
   * @default undefined — the producer creates and owns its queue
   */
  readonly queue?: Queue | undefined;
  /** Tries per command/event job, the first included; a handler error retries with `backoff`. Queries are tried once. @default 3 */
  readonly attempts?: number | undefined;
  /** Wait between tries: milliseconds, or BullMQ's `{ type: 'fixed' | 'exponential', delay }`. @default { type: 'exponential', delay: 1_000 } */
  readonly backoff?: number | BackoffOptions | undefined;
  /** Delay before a command/event job can run, in ms. @default 0 */
  readonly delay?: number | undefined;
  /** BullMQ priority (1 = highest, up to 2_097_152); 0 or unset means none. @default undefined */
  readonly priority?: number | undefined;
  /**
   * Retention of completed command/event jobs. While a job is kept, re-sending its message is a
   * no-op (job id = message id); once it is removed, the same message would be queued again.
   * Completed query jobs are always removed.
   * @default { age: 3_600, count: 10_000 } — up to an hour and at most 10,000 jobs
   */
  readonly removeOnComplete?: boolean | number | KeepJobs | undefined;
  /** Retention of failed jobs (the dead letters, see `DeadLetters`). @default false — keep them until purged */
  readonly removeOnFail?: boolean | number | KeepJobs | undefined;
  /** Reject a query with `SWITCHYARD_TIMEOUT` if no reply came in this time. @default 30_000 */
  readonly replyTimeoutMs?: number | undefined;
  /**
   * Longest wait for Redis to take a batch of jobs (or for the first connection) before the
   * dispatches reject with `SWITCHYARD_TRANSPORT_ERROR`. A job may still have been queued when this
   * fires: resend the same message to be sure — the job id keeps it from being queued twice.
   * @default 10_000
   */
  readonly sendTimeoutMs?: number | undefined;
  /** Most jobs in one `addBulk`; adds issued in the same tick beyond it go in further batches, sent at once. @default 100 */
  readonly maxBatchSize?: number | undefined;
  /** Wire format; the consumer must use the same. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

interface PendingAdd {
  readonly name: string;
  readonly data: JobData;
  readonly opts: JobsOptions;
  readonly messageId: string;
  readonly replies: boolean;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** Connection settings that make a producer's commands fail instead of waiting for Redis. */
const FAIL_FAST = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  connectTimeout: 2_000,
  retryStrategy: (times: number) => Math.min(times * 100, 1_000),
} as const;

/**
 * A {@link MessageProducer} that turns commands and events into BullMQ jobs (durable, retried with
 * backoff) and carries queries as jobs whose reply comes back over a Redis pub/sub channel owned by
 * this producer. The job id is derived from the message id, so re-sending a message does not queue
 * it twice while its job is kept. Adds issued in the same tick go to Redis as one `addBulk`.
 *
 * @example
 * import { BullMQProducer } from '@switchyard/bullmq';
 *
 * const producer = new BullMQProducer({ queueName: 'billing', connection: 'redis://127.0.0.1:6379' });
 * commandRouter.route(ChargeCard).to(producer);
 * queryRouter.route(GetInvoice).to(producer);
 * // …
 * await producer.close();
 */
export class BullMQProducer implements MessageProducer {
  readonly capabilities: ProducerCapabilities = { replies: true, confirmsHandling: false, durable: true };
  readonly #queue: Queue;
  readonly #ownsQueue: boolean;
  readonly #redis: OpenedRedis | undefined;
  readonly #connection: RedisConnection;
  readonly #codec: MessageCodec;
  readonly #pending: PendingReplies;
  readonly #jobOptions: JobsOptions;
  readonly #queryOptions: JobsOptions;
  readonly #sendTimeoutMs: number;
  readonly #maxBatchSize: number;
  readonly #replyChannel: string;
  #subscriber: OpenedRedis | undefined;
  #subscribed: Promise<void> | undefined;
  #connecting: Promise<void> | undefined;
  #isSubscribed = false;
  #batch: PendingAdd[] = [];
  #flushScheduled = false;
  readonly #inFlight = new Set<Promise<void>>();
  #closed = false;

  constructor(options: BullMQProducerOptions) {
    this.#codec = options.codec ?? new JsonCodec();
    this.#pending = new PendingReplies({ timeoutMs: options.replyTimeoutMs ?? 30_000 });
    this.#sendTimeoutMs = options.sendTimeoutMs ?? 10_000;
    this.#maxBatchSize = Math.max(1, options.maxBatchSize ?? 100);
    const priority = options.priority;
    if (priority !== undefined && (!Number.isInteger(priority) || priority < 0 || priority > 2_097_152)) {
      throw new TypeError(`BullMQProducer: priority must be an integer from 0 to 2097152, got ${priority}`);
    }
    if (options.queue !== undefined) {
      this.#queue = options.queue;
      this.#ownsQueue = false;
      this.#redis = undefined;
      this.#connection = options.queue.opts.connection as RedisConnection;
    } else {
      if (options.queueName === undefined || options.queueName.length === 0) {
        throw new TypeError('BullMQProducer: give a queueName (with a connection) or an existing queue');
      }
      this.#connection = options.connection ?? { host: '127.0.0.1', port: 6379 };
      this.#redis = openRedis(this.#connection, FAIL_FAST);
      if (this.#redis.owned) this.#redis.client.on('error', () => undefined);
      this.#queue = new Queue(options.queueName, {
        connection: this.#redis.client,
        ...(options.prefix === undefined ? {} : { prefix: options.prefix }),
      });
      this.#ownsQueue = true;
    }
    this.#queue.on('error', () => undefined); // surfaced per dispatch as a TransportError instead
    const keep = {
      removeOnFail: options.removeOnFail ?? false,
      ...(priority === undefined || priority === 0 ? {} : { priority }),
    };
    this.#jobOptions = {
      ...keep,
      attempts: options.attempts ?? 3,
      backoff: options.backoff ?? { type: 'exponential', delay: 1_000 },
      removeOnComplete: options.removeOnComplete ?? { age: 3_600, count: 10_000 },
      ...(options.delay === undefined || options.delay === 0 ? {} : { delay: options.delay }),
    };
    this.#queryOptions = { ...keep, attempts: 1, removeOnComplete: true };
    const prefix = this.#queue.opts.prefix ?? 'bull';
    this.#replyChannel = `${prefix}:${this.#queue.name}:replies:${randomUUID()}`;
  }

  /** The BullMQ queue jobs are added to. */
  get queue(): Queue {
    return this.#queue;
  }

  /** Queries waiting for their reply. */
  get pendingReplies(): number {
    return this.#pending.size;
  }

  produce(message: AnyMessage, deferred?: Deferred<unknown>): Promise<void> {
    if (this.#closed) return Promise.reject(new ProducerClosedError());
    const replies = deferred !== undefined && message.kind === 'query';
    if (replies && deferred.settled) return Promise.resolve();
    let data: JobData;
    try {
      data = toJobData(this.#codec.encode(message), replies ? this.#replyChannel : undefined);
    } catch (error) {
      return Promise.reject(error);
    }
    if (replies && !this.#pending.add(message.id, message.name, deferred)) return Promise.resolve();
    const sent = new Promise<void>((resolve, reject) => {
      this.#batch.push({
        name: message.name,
        data,
        opts: {
          ...(message.kind === 'query' ? this.#queryOptions : this.#jobOptions),
          jobId: toJobId(message.id),
        },
        messageId: message.id,
        replies,
        resolve,
        reject,
      });
    });
    if (replies) {
      // A failed send settles the query too, so its caller is not left waiting for the timeout.
      sent.catch((error: unknown) => this.#pending.reject(message.id, error));
    }
    if (this.#batch.length >= this.#maxBatchSize) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    return sent;
  }

  /**
   * Refuses new messages, waits for adds already issued (bounded by `sendTimeoutMs`), rejects
   * queries still waiting with `SWITCHYARD_PRODUCER_CLOSED`, and releases the connections it opened.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#flush();
    await Promise.allSettled([...this.#inFlight]);
    this.#pending.rejectAll(new ProducerClosedError('The producer closed before the reply arrived'));
    const subscriber = this.#subscriber;
    this.#subscriber = undefined;
    await closeRedis(subscriber);
    if (this.#ownsQueue) await this.#queue.close().catch(() => undefined);
    await closeRedis(this.#redis);
  }

  #flush(): void {
    this.#flushScheduled = false;
    while (this.#batch.length > 0) {
      const batch =
        this.#batch.length <= this.#maxBatchSize ? this.#batch : this.#batch.slice(0, this.#maxBatchSize);
      this.#batch = batch === this.#batch ? [] : this.#batch.slice(this.#maxBatchSize);
      const work = this.#send(batch);
      this.#inFlight.add(work);
      void work.finally(() => this.#inFlight.delete(work));
    }
  }

  async #send(batch: PendingAdd[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not take the jobs within ${this.#sendTimeoutMs} ms`)),
        this.#sendTimeoutMs,
      );
    });
    try {
      await Promise.race([this.#add(batch), timeout]);
      for (const entry of batch) entry.resolve();
    } catch (cause) {
      const reason = cause instanceof Error ? cause.message : String(cause);
      for (const entry of batch) {
        entry.reject(
          new TransportError(`BullMQ queue "${this.#queue.name}" did not take "${entry.name}": ${reason}`, {
            cause,
          }),
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  async #add(batch: PendingAdd[]): Promise<void> {
    const connecting = this.#whenConnected();
    if (connecting !== undefined) await connecting;
    let live = batch;
    if (batch.some((entry) => entry.replies)) {
      await this.#subscribe();
      // A query the caller gave up on while it waited to be sent is not sent at all.
      live = batch.filter((entry) => !entry.replies || this.#pending.has(entry.messageId));
      if (live.length === 0) return;
    }
    if (live.length === 1) {
      const only = live[0]!;
      await this.#queue.add(only.name, only.data, only.opts);
    } else {
      await this.#queue.addBulk(
        live.map((entry) => ({ name: entry.name, data: entry.data, opts: entry.opts })),
      );
    }
  }

  /**
   * Undefined when the producer's own connection is ready (or it has none); else one shared wait for
   * it, so any number of batches add only one set of listeners to the client.
   */
  #whenConnected(): Promise<void> | undefined {
    const client = this.#redis?.client;
    if (client === undefined || client.status === 'ready') return undefined;
    if (this.#connecting === undefined) {
      const connecting = whenReady(client, this.#sendTimeoutMs).finally(() => {
        if (this.#connecting === connecting) this.#connecting = undefined;
      });
      this.#connecting = connecting;
    }
    return this.#connecting;
  }

  /** Subscribes the reply channel once; a failed attempt is retried by the next query. */
  #subscribe(): Promise<void> {
    if (this.#subscribed !== undefined) {
      // A reply sent while the subscriber reconnects would be lost: refuse the query instead.
      const status = this.#subscriber?.client.status;
      if (!this.#isSubscribed || status === 'ready') return this.#subscribed;
      return Promise.reject(new Error(`the reply subscriber is not connected (${status})`));
    }
    if (this.#subscriber === undefined) {
      this.#subscriber = openRedis(this.#connection, FAIL_FAST, true);
      const client = this.#subscriber.client;
      client.on('error', () => undefined);
      client.on('message', (channel: string, message: string) => {
        if (channel === this.#replyChannel) this.#onReply(message);
      });
    }
    const client: Redis | Cluster = this.#subscriber.client;
    const attempt = whenReady(client, this.#sendTimeoutMs).then(async () => {
      await client.subscribe(this.#replyChannel);
      this.#isSubscribed = true;
    });
    this.#subscribed = attempt;
    attempt.catch(() => {
      if (this.#subscribed === attempt) this.#subscribed = undefined;
    });
    return attempt;
  }

  #onReply(message: string): void {
    try {
      this.#pending.settle(this.#codec.decodeReply(fromReplyMessage(message)));
    } catch {
      // A reply we cannot read cannot be matched to a query; that query times out instead.
    }
  }
}
