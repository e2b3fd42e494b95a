import {
  checkOption,
  errorMessage,
  type OutgoingMessage,
  type ProducerWire,
  TransportError,
  TransportProducer,
  type TransportProducerOptions,
  type WireCapabilities,
  type WireChannel,
  type WireData,
} from '@switchyard/core';
import {
  closeRedis,
  FAIL_FAST,
  isRedisClient,
  type OpenedRedis,
  openRedis,
  type RedisConnection,
  whenReady,
} from './redis-connection.ts';
import { checkTopicName, FIELD, type TopicAddress, topicKeys } from './topic-keys.ts';

/** Options of the {@link TopicPublisher}. */
export interface TopicPublisherOptions extends TransportProducerOptions {
  /** The topic: every subscriber group of it gets each event. */
  readonly topic: string;
  /** Key prefix, as BullMQ's; on Redis Cluster a hash tag such as `{switchyard}`. @default 'bull' */
  readonly prefix?: string | undefined;
  /**
   * ioredis options, a `redis://` URL, or an existing ioredis `Redis`/`Cluster` (used as given, not
   * closed). A connection the publisher opens fails fast: a publish Redis cannot take rejects.
   * @default { host: '127.0.0.1', port: 6379 }
   */
  readonly connection?: RedisConnection | undefined;
  /** `start()` and each publish: how long to wait for Redis before `SWITCHYARD_TRANSPORT_ERROR`. @default 5_000 */
  readonly sendTimeoutMs?: number | undefined;
  /**
   * A safety cap on the topic's length (Redis trims approximately, oldest first). Subscribers trim
   * what every group has handled, so the cap only matters for a group that falls this far behind
   * (or a topic nobody subscribes to): past it, its oldest unread events are dropped. `0`: no cap.
   * @default 1_000_000
   */
  readonly maxLength?: number | undefined;
}

/** The wire under the {@link TopicPublisher}: one `XADD` per event (pipelined by ioredis). */
class TopicWire implements ProducerWire<TopicAddress> {
  readonly capabilities: WireCapabilities = {
    replies: false,
    confirmsHandling: false,
    durable: true,
    fanOut: true,
  };
  readonly #options: TopicPublisherOptions;
  readonly #stream: string;
  readonly #trim: readonly (string | number)[];
  readonly #sendTimeoutMs: number;
  #redis: OpenedRedis | undefined;

  constructor(options: TopicPublisherOptions) {
    const topic = checkTopicName('TopicPublisher', options.topic);
    this.#options = options;
    this.#stream = topicKeys(options.prefix ?? 'bull', topic).stream;
    const maxLength = checkOption('TopicPublisher', 'maxLength', options.maxLength, 1_000_000, 'count');
    this.#trim = maxLength === 0 ? [] : ['MAXLEN', '~', maxLength];
    this.#sendTimeoutMs = checkOption(
      'TopicPublisher',
      'sendTimeoutMs',
      options.sendTimeoutMs,
      5_000,
      'positive',
    );
  }

  async open(channel: WireChannel): Promise<TopicAddress> {
    const connection = this.#options.connection ?? { host: '127.0.0.1', port: 6379 };
    const owned = !isRedisClient(connection);
    const redis = openRedis(connection, { ...FAIL_FAST, enableAutoPipelining: true });
    if (owned) redis.client.on('error', (error: unknown) => channel.report(error, 'connection'));
    this.#redis = redis;
    try {
      await whenReady(redis.client, this.#sendTimeoutMs);
    } catch (cause) {
      throw new TransportError(`TopicPublisher could not reach Redis: ${errorMessage(cause)}`, { cause });
    }
    return { topic: this.#options.topic, prefix: this.#options.prefix ?? 'bull' };
  }

  async send(outgoing: OutgoingMessage): Promise<undefined> {
    const client = this.#redis!.client;
    try {
      await client.xadd(
        this.#stream,
        ...(this.#trim as [string]),
        '*',
        FIELD.name,
        outgoing.message.name,
        FIELD.envelope,
        toRedisValue(outgoing.data),
      );
    } catch (cause) {
      throw new TransportError(
        `Redis did not take the event "${outgoing.message.name}" for topic "${this.#options.topic}": ${errorMessage(cause)}`,
        { cause },
      );
    }
    return undefined;
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }
}

/** A string as is; bytes as a Buffer over the same memory. */
function toRedisValue(data: WireData): string | Buffer {
  return typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Publishes events to a durable topic on Redis (a stream): every subscriber group gets each event
 * once, and the publisher knows none of them — adding a group is a change on the subscriber only.
 * Commands and queries are refused (`SWITCHYARD_INVALID_MESSAGE`); a publish Redis did not take
 * rejects with `SWITCHYARD_TRANSPORT_ERROR`.
 *
 * @example
 * const publisher = new TopicPublisher({ topic: 'users', connection: 'redis://127.0.0.1:6379' });
 * eventRouter.route(UserRegistered).to(publisher);
 */
export class TopicPublisher extends TransportProducer<TopicAddress> {
  constructor(options: TopicPublisherOptions) {
    super('TopicPublisher', 'bullmq-topic', new TopicWire(options), options);
  }
}
