import { hostname } from 'node:os';
import {
  type Backoff,
  backoffDelay,
  checkOption,
  checkSubscription,
  deliveryFate,
  errorMessage,
  eventMatcher,
  failedReason,
  fulfilledWithin,
  type ReceiveResult,
  reportDeadLetter,
  TransportConsumer,
  type TransportConsumerOptions,
  TransportError,
} from '@switchyard/core';
import { Cluster, type Redis } from 'ioredis';
import {
  closeRedis,
  type OpenedRedis,
  openRedis,
  type RedisConnection,
  whenReady,
} from './redis-connection.ts';
import {
  checkTopicName,
  compareStreamIds,
  entryFields,
  FIELD,
  nextStreamId,
  type TopicAddress,
  type TopicKeys,
  topicKeys,
} from './topic-keys.ts';

/** Options of the {@link TopicSubscriber}: a topic and a group, plus core's consumer options. */
export interface TopicSubscriberOptions extends TransportConsumerOptions {
  /** The topic (the publisher's `topic`). */
  readonly topic: string;
  /**
   * The subscriber group. Each group gets every event of the topic once; the subscribers of one
   * group (processes, or several in one) compete for them. A group is created by its first
   * subscriber and starts from "now"; it keeps its place across restarts.
   */
  readonly group: string;
  /**
   * The event names or `*` patterns the group handles; other events are acknowledged unhandled.
   * @default the events this process handles (with `createSwitchyard`); required otherwise
   */
  readonly events?: readonly string[] | undefined;
  /** Filled by `createSwitchyard`: the default of `events`. @default [] */
  readonly messageNames?: readonly string[] | undefined;
  /** Key prefix, as the publisher's. @default 'bull' */
  readonly prefix?: string | undefined;
  /**
   * ioredis options, a `redis://` URL, or an existing ioredis `Redis`/`Cluster`. The subscriber
   * opens two connections like it (one blocks reading the stream).
   * @default { host: '127.0.0.1', port: 6379 }
   */
  readonly connection?: RedisConnection | undefined;
  /** Events handled at once by this subscriber. @default 1 */
  readonly concurrency?: number | undefined;
  /** Tries per event, the first included; then it becomes one of the group's dead letters. @default 3 */
  readonly attempts?: number | undefined;
  /** Wait before the next try: ms, or `{ type: 'fixed' | 'exponential', delay }`. @default { type: 'exponential', delay: 1_000 } */
  readonly backoff?: number | Backoff | undefined;
  /**
   * How long an event taken by a subscriber that stopped answering (crashed, killed) stays with it
   * before another subscriber of the group takes it over. A live subscriber keeps its events for
   * as long as their handlers run. Backoffs longer than this are cut to it.
   * @default 30_000
   */
  readonly visibilityTimeoutMs?: number | undefined;
  /** `start()`: how long to wait for Redis before `SWITCHYARD_TRANSPORT_ERROR`. @default 10_000 */
  readonly startTimeoutMs?: number | undefined;
  /** How often the topic is trimmed of events every group has handled. @default 10_000 */
  readonly trimIntervalMs?: number | undefined;
  /** `close()`: how long handlers may finish once reading stopped. @default 10_000 */
  readonly closeTimeoutMs?: number | undefined;
}

/** An event taken from the stream, on its way through the pipeline. */
interface Delivery {
  readonly id: string;
  readonly name: string | undefined;
  readonly envelope: string | undefined;
  readonly attempt: number;
}

/** How long one read blocks, when a close can unblock it at once (single Redis) and when not (Cluster). */
const BLOCK_MS = 2_000;
const CLUSTER_BLOCK_MS = 500;

/**
 * A subscriber group's consumer of a durable topic (a Redis stream with one consumer group per
 * subscriber group): every event through core's receive pipeline, acknowledged once handled.
 * A failed event is retried after its backoff, then kept in the group's dead letters
 * (`TopicDeadLetters`); an event taken by a subscriber that died is taken over by another of
 * the group after `visibilityTimeoutMs` — at least once, nothing lost.
 *
 * @example
 * const subscriber = new TopicSubscriber({ topic: 'users', group: 'billing', events: ['User*'], eventBus });
 * await subscriber.start();
 */
export class TopicSubscriber extends TransportConsumer<TopicAddress> {
  readonly #options: TopicSubscriberOptions;
  readonly #keys: TopicKeys;
  readonly #group: string;
  readonly #wanted: (name: string) => boolean;
  readonly #attempts: number;
  readonly #backoff: number | Backoff;
  readonly #visibilityMs: number;
  readonly #trimIntervalMs: number;
  readonly #consumerName = `${hostname()}:${process.pid}:${Math.random().toString(36).slice(2, 8)}`;
  /** Ids of the events this subscriber is handling now. */
  readonly #owned = new Set<string>();
  #commands: OpenedRedis | undefined;
  #reader: OpenedRedis | undefined;
  #readerId: number | undefined;
  #reading: Promise<void> | undefined;
  #stopping = false;
  #timers: NodeJS.Timeout[] = [];

  constructor(options: TopicSubscriberOptions) {
    super('TopicSubscriber', 'bullmq-topic', { ...options, consumerGroup: options.group }, 1);
    const topic = checkTopicName('TopicSubscriber', options.topic);
    const events = options.events ?? options.messageNames;
    checkSubscription(options.group, events);
    this.#options = options;
    this.#group = options.group;
    this.#keys = topicKeys(options.prefix ?? 'bull', topic);
    this.#wanted = eventMatcher(events!);
    this.#attempts = checkOption('TopicSubscriber', 'attempts', options.attempts, 3, 'whole');
    this.#backoff = options.backoff ?? { type: 'exponential', delay: 1_000 };
    this.#visibilityMs = checkOption(
      'TopicSubscriber',
      'visibilityTimeoutMs',
      options.visibilityTimeoutMs,
      30_000,
      'positive',
    );
    this.#trimIntervalMs = checkOption(
      'TopicSubscriber',
      'trimIntervalMs',
      options.trimIntervalMs,
      10_000,
      'positive',
    );
    checkOption('TopicSubscriber', 'startTimeoutMs', options.startTimeoutMs, 10_000, 'positive');
  }

  /** A group's failed events stay in its dead letters (see `TopicDeadLetters`): no `deadLetterSink`. */
  protected override get keepsDeadLetters(): boolean {
    return true;
  }

  protected async open(): Promise<TopicAddress> {
    const connection = this.#options.connection ?? { host: '127.0.0.1', port: 6379 };
    const commands = openRedis(connection, { maxRetriesPerRequest: 3, enableAutoPipelining: true }, true);
    const reader = openRedis(connection, { maxRetriesPerRequest: null }, true);
    for (const opened of [commands, reader]) {
      opened.client.on('error', (error: unknown) => this.errors.report(error, 'connection'));
    }
    this.#commands = commands;
    this.#reader = reader;
    const startTimeoutMs = this.#options.startTimeoutMs ?? 10_000;
    try {
      await Promise.all([
        whenReady(commands.client, startTimeoutMs),
        whenReady(reader.client, startTimeoutMs),
      ]);
      await this.#createGroup(commands.client);
      this.#readerId = await readerId(reader.client);
    } catch (cause) {
      await Promise.all([closeRedis(commands), closeRedis(reader)]);
      throw new TransportError(
        `TopicSubscriber could not subscribe group "${this.#group}" to topic "${this.#options.topic}": ${errorMessage(cause)}`,
        { cause },
      );
    }
    this.#reading = this.#readLoop();
    const every = (ms: number, work: () => Promise<void>) => {
      const timer = setInterval(() => {
        if (!this.#stopping) work().catch((error: unknown) => this.errors.report(error, 'connection'));
      }, ms);
      timer.unref();
      this.#timers.push(timer);
    };
    every(Math.max(50, Math.min(1_000, this.#visibilityMs / 4)), () => this.#reclaim());
    every(Math.max(50, this.#visibilityMs / 3), () => this.#heartbeat());
    every(this.#trimIntervalMs, () => this.#trim());
    return { topic: this.#options.topic, prefix: this.#options.prefix ?? 'bull', group: this.#group };
  }

  protected async stopIntake(): Promise<void> {
    this.#stopping = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers = [];
    this.wakeSlotWaiters();
    // Ends the blocking read now rather than after its block time.
    if (this.#readerId !== undefined) {
      await this.#commands?.client.client('UNBLOCK', this.#readerId).catch(() => undefined);
    }
  }

  protected async release(drained: boolean, deadline: number): Promise<void> {
    if (this.#commands === undefined) return;
    await fulfilledWithin(this.#reading ?? Promise.resolve(), Math.max(0, deadline - Date.now()));
    if (drained) await this.#leaveGroup().catch((error: unknown) => this.errors.report(error, 'close'));
    await Promise.all([closeRedis(this.#reader), closeRedis(this.#commands)]);
  }

  /** Creates the group at the stream's end ("now"); an existing group keeps its place. */
  async #createGroup(client: Redis | Cluster): Promise<void> {
    try {
      await client.xgroup('CREATE', this.#keys.stream, this.#group, '$', 'MKSTREAM');
    } catch (error) {
      if (!errorMessage(error).startsWith('BUSYGROUP')) throw error;
    }
  }

  /** Drops this subscriber's name from the group once it holds no events (a clean close). */
  async #leaveGroup(): Promise<void> {
    const client = this.#commands!.client;
    const mine = (await client.xpending(
      this.#keys.stream,
      this.#group,
      '-',
      '+',
      1,
      this.#consumerName,
    )) as unknown[];
    if (mine.length === 0)
      await client.xgroup('DELCONSUMER', this.#keys.stream, this.#group, this.#consumerName);
  }

  async #readLoop(): Promise<void> {
    const reader = this.#reader!.client;
    while (!this.#stopping) {
      const slot = this.slotFree();
      if (slot !== undefined) {
        await slot;
        continue;
      }
      try {
        const count = this.concurrency - this.inFlight;
        const reply = (await reader.xreadgroup(
          'GROUP',
          this.#group,
          this.#consumerName,
          'COUNT',
          count,
          'BLOCK',
          this.#readerId === undefined ? CLUSTER_BLOCK_MS : BLOCK_MS,
          'STREAMS',
          this.#keys.stream,
          '>',
        )) as [string, [string, string[]][]][] | null;
        for (const [id, flat] of reply?.[0]?.[1] ?? []) this.#take(id, flat, 1);
      } catch (error) {
        if (this.#stopping) return;
        this.errors.report(error, 'connection');
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
    }
  }

  /** Takes one entry: skips what is not for this group, else runs it through the pipeline. */
  #take(id: string, flat: readonly string[] | null, attempt: number): void {
    if (this.#owned.has(id)) return;
    const fields = flat === null ? undefined : entryFields(flat);
    const name = fields?.[FIELD.name];
    const target = fields?.[FIELD.group];
    if (
      fields === undefined ||
      (target !== undefined && target !== this.#group) ||
      (name !== undefined && !this.#wanted(name))
    ) {
      this.#ack(id, attempt);
      return;
    }
    this.#owned.add(id);
    const delivery: Delivery = { id, name, envelope: fields[FIELD.envelope], attempt };
    this.track(this.#run(delivery)).catch((error: unknown) => this.errors.report(error, 'connection'));
  }

  async #run(delivery: Delivery): Promise<void> {
    let result: ReceiveResult;
    try {
      result = await this.handle(delivery.envelope ?? '', undefined, {
        entryId: delivery.id,
        group: this.#group,
        attempt: delivery.attempt,
      });
    } finally {
      this.#owned.delete(delivery.id);
    }
    if (result.ok) return this.#ack(delivery.id, delivery.attempt);
    const fate = deliveryFate(result.outcome, delivery.attempt, this.#attempts, false);
    if (fate === 'retry') return this.#retryLater(delivery, result.error);
    if (fate === 'dead-letter') {
      await this.#deadLetter(delivery, result.error);
      reportDeadLetter({ message: result.message, transport: 'bullmq-topic', error: result.error });
      return;
    }
    return this.#ack(delivery.id, delivery.attempt);
  }

  #ack(id: string, attempt: number): Promise<void> {
    const client = this.#commands!.client;
    const acked = client.xack(this.#keys.stream, this.#group, id);
    const done = attempt > 1 ? Promise.all([acked, client.hdel(this.#keys.errors(this.#group), id)]) : acked;
    return done.then(
      () => undefined,
      (error: unknown) => this.errors.report(error, 'connection', { entryId: id }),
    );
  }

  /** Leaves the event pending, aged so that it is taken again once its backoff has passed. */
  async #retryLater(delivery: Delivery, error: unknown): Promise<void> {
    const wait = Math.min(this.#visibilityMs, backoffDelay(this.#backoff, delivery.attempt));
    const client = this.#commands!.client;
    await Promise.all([
      client.hset(this.#keys.errors(this.#group), delivery.id, failedReason(error)),
      client.xclaim(
        this.#keys.stream,
        this.#group,
        this.#consumerName,
        0,
        delivery.id,
        'IDLE',
        this.#visibilityMs - wait,
        'JUSTID',
      ),
    ]).catch((cause: unknown) => this.errors.report(cause, 'connection', { entryId: delivery.id }));
  }

  /** Moves the event to the group's dead letters and acknowledges it, in one transaction. */
  async #deadLetter(delivery: Delivery, error: unknown): Promise<void> {
    const client = this.#commands!.client;
    await client
      .multi()
      .xadd(
        this.#keys.dead(this.#group),
        '*',
        'id',
        delivery.id,
        FIELD.name,
        delivery.name ?? '',
        FIELD.envelope,
        delivery.envelope ?? '',
        'reason',
        failedReason(error),
        'attempts',
        String(delivery.attempt),
        'at',
        String(Date.now()),
      )
      .xack(this.#keys.stream, this.#group, delivery.id)
      .hdel(this.#keys.errors(this.#group), delivery.id)
      .exec()
      .catch((cause: unknown) => this.errors.report(cause, 'connection', { entryId: delivery.id }));
  }

  /** Takes over events idle for `visibilityTimeoutMs`: a dead subscriber's, or retries whose backoff passed. */
  async #reclaim(): Promise<void> {
    const free = this.concurrency - this.inFlight;
    if (free <= 0) return;
    const client = this.#commands!.client;
    const pending = (await client.xpending(
      this.#keys.stream,
      this.#group,
      'IDLE',
      this.#visibilityMs,
      '-',
      '+',
      free,
    )) as [string, string, number, number][];
    const ids = pending.map(([id]) => id).filter((id) => !this.#owned.has(id));
    if (ids.length === 0 || this.#stopping) return;
    const deliveries = new Map(pending.map(([id, , , count]) => [id, count]));
    const claimed = (await client.xclaim(
      this.#keys.stream,
      this.#group,
      this.#consumerName,
      this.#visibilityMs,
      ...ids,
    )) as ([string, string[]] | null)[];
    for (const entry of claimed) {
      if (entry === null) continue;
      const [id, flat] = entry;
      this.#take(id, flat, (deliveries.get(id) ?? 0) + 1);
    }
  }

  /** Keeps the events being handled with this subscriber (resets their idle time). */
  async #heartbeat(): Promise<void> {
    if (this.#owned.size === 0) return;
    await this.#commands!.client.xclaim(
      this.#keys.stream,
      this.#group,
      this.#consumerName,
      0,
      ...this.#owned,
      'JUSTID',
    );
  }

  /** Trims the events every group has handled: those before each group's oldest unfinished one. */
  async #trim(): Promise<void> {
    const client = this.#commands!.client;
    const stream = this.#keys.stream;
    const groups = (await client.xinfo('GROUPS', stream)) as unknown[][];
    let keepFrom: string | undefined;
    for (const info of groups) {
      const fields = entryFields(info.map(String));
      const group = fields.name;
      const lastDelivered = fields['last-delivered-id'];
      if (group === undefined || lastDelivered === undefined) return; // not a shape we know: keep all
      const summary = (await client.xpending(stream, group)) as [number, string | null, ...unknown[]];
      const oldest = summary[0] > 0 && summary[1] !== null ? summary[1] : nextStreamId(lastDelivered);
      if (keepFrom === undefined || compareStreamIds(oldest, keepFrom) < 0) keepFrom = oldest;
    }
    if (keepFrom !== undefined) await client.xtrim(stream, 'MINID', keepFrom); // exact: every few seconds, it is cheap
  }
}

/** The connection id of the blocking reader, to unblock it at close. */
async function readerId(client: Redis | Cluster): Promise<number | undefined> {
  // On a Cluster the CLIENT command may reach another node: the read then ends after its block time.
  if (client instanceof Cluster) return undefined;
  const id = await client.client('ID');
  return typeof id === 'number' ? id : undefined;
}
