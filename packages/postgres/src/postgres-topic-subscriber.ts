import {
  type Backoff,
  checkOption,
  checkSubscription,
  eventMatcher,
  type SubscriptionOptions,
} from '@switchyard/core';
import type pg from 'pg';
import { boundedQueries } from './bounded-queries.ts';
import { DeadLetters, type DeadLettersOptions } from './dead-letters.ts';
import { checkSchemaName, DEFAULT_SCHEMA, requireMigrated } from './migrate.ts';
import { PostgresConsumer, type PostgresConsumerOptions } from './postgres-consumer.ts';
import {
  checkTopicName,
  likePatterns,
  TOPIC_VERSION,
  topicQueueName,
  topicSql,
} from './postgres-topic-sql.ts';
import { checkBackoff } from './postgres-wire.ts';

/**
 * Options of the {@link PostgresTopicSubscriber}: the topic, the group and its events, the group's
 * retry policy, and every option of the `PostgresConsumer` (`concurrency` 10, `leaseMs` 30_000,
 * `pollIntervalMs` 1_000, `stalledIntervalMs` 5_000, `startTimeoutMs` 10_000, `mode`, `onError`,
 * `logger`, `closeTimeoutMs`, the buses, `definitions`, `codec`) — except `queueName`: the group's
 * queue is `topic/<topic>/<group>`.
 */
export interface PostgresTopicSubscriberOptions
  extends Omit<PostgresConsumerOptions, 'queueName'>,
    SubscriptionOptions {
  /** The topic: the publisher's `topic`. */
  readonly topic: string;
  /**
   * The subscriber group. Each group gets every event once; the subscribers of one group (in any
   * number of processes) compete for its events. Letters, digits and `._:-`, at most 100 characters.
   */
  readonly group: string;
  /**
   * The events the group receives: names or `*` patterns (`'Order*'`, `'*'`). All subscribers of a
   * group should give the same; the last one to start sets the group's subscription.
   * @default the names of the events this process handles over the topic (with `createSwitchyard`)
   */
  readonly events?: readonly string[] | undefined;
  /** Tries per event for this group, the first included; then it is a dead letter of the group. @default 3 */
  readonly attempts?: number | undefined;
  /** Wait between tries: ms (fixed), or `{ type: 'fixed' | 'exponential', delay }`. @default { type: 'exponential', delay: 1_000 } */
  readonly backoff?: number | Backoff | undefined;
  /** Set by `createSwitchyard`: the events this process handles over the topic, the default `events`. */
  readonly messageNames?: readonly string[] | undefined;
}

/**
 * A subscriber group's consumer on a PostgreSQL topic. `start()` subscribes the group (creates its
 * subscription, or brings its events and retry policy up to date — it survives restarts), then
 * consumes the group's queue with the `PostgresConsumer` machinery: `FOR UPDATE SKIP LOCKED`
 * (subscribers of one group compete, in any number of processes), leases (a killed subscriber's
 * events go to another once the lease expires), retries with the group's backoff, dead letters,
 * `NOTIFY` wake-up. A new group gets the events published after its first `start()`; events
 * published while all its subscribers are down wait for them. An event in the group's queue that
 * its `events` no longer select is acknowledged and skipped.
 *
 * @example
 * const subscriber = new PostgresTopicSubscriber({ connection: pool, topic: 'orders', group: 'billing', events: ['Order*'], eventBus });
 * await subscriber.start();
 * process.on('SIGTERM', () => void subscriber.close());
 */
export class PostgresTopicSubscriber extends PostgresConsumer {
  readonly #options: PostgresTopicSubscriberOptions;
  readonly #schema: string;
  readonly #topic: string;
  readonly #group: string;
  readonly #events: readonly string[];
  readonly #wanted: (name: string) => boolean;
  readonly #attempts: number;
  readonly #backoff: Backoff;
  readonly #timeoutMs: number;

  constructor(options: PostgresTopicSubscriberOptions) {
    const topic = checkTopicName('PostgresTopicSubscriber', options.topic);
    const events = options.events ?? options.messageNames;
    checkSubscription(options.group, events);
    super(
      { ...options, queueName: topicQueueName(topic, options.group), consumerGroup: options.group },
      'PostgresTopicSubscriber',
    );
    this.#schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
    this.#topic = topic;
    this.#group = options.group;
    this.#events = Object.freeze([...(events as readonly string[])]);
    this.#wanted = eventMatcher(this.#events);
    this.#attempts = checkOption('PostgresTopicSubscriber', 'attempts', options.attempts, 3, 'whole');
    this.#backoff = checkBackoff(options.backoff, 'PostgresTopicSubscriber');
    this.#timeoutMs = options.startTimeoutMs ?? 10_000;
    this.#options = options;
  }

  /** The topic. */
  get topic(): string {
    return this.#topic;
  }

  /** The subscriber group. */
  get group(): string {
    return this.#group;
  }

  /** The events (names and patterns) the group subscribes to. */
  get events(): readonly string[] {
    return this.#events;
  }

  /** The group's queue in `queue_messages`: `topic/<topic>/<group>`. */
  get queueName(): string {
    return topicQueueName(this.#topic, this.#group);
  }

  /**
   * The group's dead letters — events that failed every try — to list, replay (back to this group
   * only) or purge: a `DeadLetters` on the group's queue, with this subscriber's connection and schema
   * unless `options` say otherwise. Close it when done.
   */
  deadLetters(options: Partial<Omit<DeadLettersOptions, 'queueName'>> = {}): DeadLetters {
    return new DeadLetters({
      connection: this.#options.connection,
      schema: this.#schema,
      ...(this.#options.codec === undefined ? {} : { codec: this.#options.codec }),
      ...options,
      queueName: this.queueName,
    });
  }

  /** Subscribes the group before the first fetch (see `PostgresConsumer.prepare`). */
  protected override async prepare(pool: pg.Pool): Promise<void> {
    const db = boundedQueries(pool, this.#timeoutMs, 'PostgresTopicSubscriber could not subscribe');
    await requireMigrated(db, this.#schema, TOPIC_VERSION, 'PostgresTopicSubscriber');
    const subscribe = () =>
      db.query(topicSql(this.#schema).subscribe, [
        this.#topic,
        this.#group,
        this.queueName,
        this.#events,
        likePatterns(this.#events),
        this.#attempts,
        this.#backoff.type,
        this.#backoff.delay,
      ]);
    try {
      await subscribe();
    } catch (error) {
      // Subscribers of a new group starting at once: `ON CONFLICT` arbitrates on (topic, group)
      // only, so the insert that loses the race fails on the queue's unique index instead. The
      // winner's row is committed by then, and a second try takes the update path.
      if (!isUniqueViolation(error)) throw error;
      await subscribe();
    }
  }

  protected override wants(name: string): boolean {
    return this.#wanted(name);
  }
}

/** What {@link unsubscribeTopicGroup} removed. */
export interface UnsubscribeResult {
  /** 1 when the group was subscribed, else 0. */
  readonly subscriptions: number;
  /** The group's messages deleted (waiting, running and dead). */
  readonly messages: number;
}

/**
 * Ends a group's subscription for good: no more events are copied to it, and the events waiting in
 * its queue (and its dead letters) are deleted. Stop the group's subscribers first — one that starts
 * again subscribes the group anew (from "now").
 *
 * @example
 * await unsubscribeTopicGroup(pool, { topic: 'orders', group: 'old-reporting' });
 */
export async function unsubscribeTopicGroup(
  db: Pick<pg.Pool, 'query'> | Pick<pg.ClientBase, 'query'>,
  options: { readonly topic: string; readonly group: string; readonly schema?: string | undefined },
): Promise<UnsubscribeResult> {
  const schema = checkSchemaName(options.schema ?? DEFAULT_SCHEMA);
  const topic = checkTopicName('unsubscribeTopicGroup', options.topic);
  checkSubscription(options.group, ['*']);
  await requireMigrated(db, schema, TOPIC_VERSION, 'unsubscribeTopicGroup');
  const result = await db.query<{ subscriptions: number; messages: number }>(topicSql(schema).unsubscribe, [
    topic,
    options.group,
  ]);
  return { subscriptions: result.rows[0]?.subscriptions ?? 0, messages: result.rows[0]?.messages ?? 0 };
}

/** PostgreSQL's `unique_violation` (SQLSTATE 23505), thrown as is or as the cause of a `TransportError`. */
function isUniqueViolation(error: unknown): boolean {
  const { code, cause } = (typeof error === 'object' && error !== null ? error : {}) as {
    code?: unknown;
    cause?: unknown;
  };
  return code === '23505' || (cause !== error && cause !== undefined && isUniqueViolation(cause));
}
