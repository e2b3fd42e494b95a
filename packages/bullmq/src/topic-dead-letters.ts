import {
  type DeadLetterQueue,
  type DeadLetterRecord,
  decodeDeadLetter,
  ErrorReporter,
  type ErrorReportingOptions,
  JsonCodec,
  type MessageCodec,
} from '@switchyard/core';
import type { Cluster, Redis } from 'ioredis';
import { closeRedis, type OpenedRedis, openRedis, type RedisConnection } from './redis-connection.ts';
import { checkTopicName, entryFields, FIELD, type TopicKeys, topicKeys } from './topic-keys.ts';

/** Options of {@link TopicDeadLetters}: the topic and group whose dead letters to manage. */
export interface TopicDeadLettersOptions extends ErrorReportingOptions {
  /** The topic. */
  readonly topic: string;
  /** The subscriber group. */
  readonly group: string;
  /** Key prefix, as the subscriber's. @default 'bull' */
  readonly prefix?: string | undefined;
  /** ioredis options, a `redis://` URL, or an existing ioredis instance. @default { host: '127.0.0.1', port: 6379 } */
  readonly connection?: RedisConnection | undefined;
  /** Decodes envelopes for `message`; use the publisher's codec. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

/** One event a group gave up on (core's `DeadLetterRecord`, named by its `letterId`). */
export interface TopicDeadLetter extends DeadLetterRecord {
  /** The letter's id: pass it to `replay` and `purge`. */
  readonly letterId: string;
  /** The group that gave it up. */
  readonly group: string;
}

/**
 * The dead letters of one subscriber group of a topic: list them with their error, replay one or
 * all to that group only (the other groups do not see them again), or purge them.
 *
 * @example
 * const deadLetters = new TopicDeadLetters({ topic: 'users', group: 'billing', connection: 'redis://127.0.0.1:6379' });
 * for (const letter of await deadLetters.list()) console.log(letter.letterId, letter.name, letter.failedReason);
 * await deadLetters.replayAll();
 * await deadLetters.close();
 */
export class TopicDeadLetters implements DeadLetterQueue<TopicDeadLetter> {
  readonly #options: TopicDeadLettersOptions;
  readonly #keys: TopicKeys;
  readonly #codec: MessageCodec;
  readonly #errors: ErrorReporter;
  #redis: OpenedRedis | undefined;

  /** Checks the options; connects nothing — the first call does. */
  constructor(options: TopicDeadLettersOptions) {
    this.#keys = topicKeys(options.prefix ?? 'bull', checkTopicName('TopicDeadLetters', options.topic));
    this.#options = options;
    this.#codec = options.codec ?? new JsonCodec();
    this.#errors = new ErrorReporter('TopicDeadLetters', 'bullmq-topic', options);
  }

  get #client(): Redis | Cluster {
    if (this.#redis === undefined) {
      this.#redis = openRedis(this.#options.connection ?? { host: '127.0.0.1', port: 6379 }, {
        maxRetriesPerRequest: 3,
      });
      this.#redis.client.on('error', (error: unknown) => this.#errors.report(error, 'connection'));
    }
    return this.#redis.client;
  }

  get #dead(): string {
    return this.#keys.dead(this.#options.group);
  }

  async count(): Promise<number> {
    return await this.#client.xlen(this.#dead);
  }

  async list(offset = 0, limit = 100): Promise<TopicDeadLetter[]> {
    const entries = (await this.#client.xrevrange(this.#dead, '+', '-', 'COUNT', offset + limit)) as [
      string,
      string[],
    ][];
    return entries.slice(offset).map(([id, flat]) => this.#letter(id, flat));
  }

  async get(id: string): Promise<TopicDeadLetter | undefined> {
    const [entry] = (await this.#client.xrange(this.#dead, id, id)) as [string, string[]][];
    return entry === undefined ? undefined : this.#letter(entry[0], entry[1]);
  }

  async replay(id: string): Promise<boolean> {
    const [entry] = (await this.#client.xrange(this.#dead, id, id)) as [string, string[]][];
    if (entry === undefined) return false;
    const fields = entryFields(entry[1]);
    const [[, removed] = [null, 0]] = ((await this.#client
      .multi()
      .xdel(this.#dead, id)
      .xadd(
        this.#keys.stream,
        '*',
        FIELD.name,
        fields[FIELD.name] ?? '',
        FIELD.envelope,
        fields[FIELD.envelope] ?? '',
        FIELD.group,
        this.#options.group,
      )
      .exec()) ?? []) as [unknown, unknown][];
    return removed === 1;
  }

  async replayAll(limit = 1_000): Promise<number> {
    let replayed = 0;
    while (replayed < limit) {
      const batch = (await this.#client.xrange(
        this.#dead,
        '-',
        '+',
        'COUNT',
        Math.min(100, limit - replayed),
      )) as [string, string[]][];
      if (batch.length === 0) break;
      for (const [id] of batch) if (await this.replay(id)) replayed++;
    }
    return replayed;
  }

  async purge(id?: string): Promise<number> {
    if (id !== undefined) return await this.#client.xdel(this.#dead, id);
    const count = await this.#client.xlen(this.#dead);
    await this.#client.del(this.#dead);
    return count;
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
    this.#redis = undefined;
  }

  #letter(letterId: string, flat: readonly string[]): TopicDeadLetter {
    const fields = entryFields(flat);
    const envelope = fields[FIELD.envelope] || undefined;
    return Object.freeze({
      letterId,
      group: this.#options.group,
      name: fields[FIELD.name] ?? '',
      failedReason: fields.reason ?? '',
      attemptsMade: Number(fields.attempts ?? 0),
      failedAt: fields.at === undefined ? undefined : new Date(Number(fields.at)),
      message: decodeDeadLetter(this.#codec, envelope),
      envelope,
    });
  }
}
