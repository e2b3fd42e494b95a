import { TransportError, type WireChannel } from '@switchyard/core';
import { fromReplyMessage } from './job-data.ts';
import {
  closeRedis,
  FAIL_FAST,
  type OpenedRedis,
  openRedis,
  type RedisConnection,
  whenReady,
} from './redis-connection.ts';
import { within } from './within.ts';

/**
 * A producer's reply channel: a Redis connection of its own, subscribed to one pub/sub channel whose
 * messages go to core's reply sink. Pub/sub keeps nothing for a subscriber that is away: when the
 * connection drops, the queries waiting are rejected at once (their replies are lost) and new ones
 * are refused until ioredis has reconnected and subscribed again.
 */
export class ReplySubscriber {
  /** The channel consumers publish this producer's replies to. */
  readonly channelName: string;
  #opened: OpenedRedis | undefined;
  #closing = false;

  constructor(channelName: string) {
    this.channelName = channelName;
  }

  /** The connection's status; `ready` while a query sent now can get its reply. */
  get status(): string {
    return this.#opened?.client.status ?? 'closed';
  }

  /** Connects and subscribes within `timeoutMs`; replies go to `channel.reply`, errors to `channel.report`. */
  async open(connection: RedisConnection, channel: WireChannel, timeoutMs: number): Promise<void> {
    this.#opened = openRedis(connection, FAIL_FAST, true);
    const client = this.#opened.client;
    client.on('error', (error: unknown) => channel.report(error, 'connection'));
    client.on('message', (name: string, message: string) => {
      if (name === this.channelName) channel.reply(fromReplyMessage(message));
    });
    client.on('close', () => {
      if (this.#closing) return;
      channel.rejectPending(
        new TransportError(
          'The BullMQ reply subscriber lost its Redis connection; the replies in flight are lost',
        ),
      );
    });
    await whenReady(client, timeoutMs);
    await within(client.subscribe(this.channelName), timeoutMs, 'Redis did not confirm the subscription');
  }

  async close(): Promise<void> {
    this.#closing = true;
    await closeRedis(this.#opened);
  }
}
