import type { WireData } from '../codec/message-codec.ts';
import type { AnyMessage } from '../message.ts';
import type { DeadLetterQueue, DeadLetterRecord } from './dead-letters.ts';

/** One message waiting in a durable queue (see {@link StoredMessages}). */
export interface StoredMessage {
  /** The message id (what {@link StoredMessages.get} and `remove` take). */
  readonly id: string;
  /** The message name. */
  readonly name: string;
  /** The decoded message, or `undefined` when the stored envelope cannot be decoded. */
  readonly message: AnyMessage | undefined;
  /** The envelope as stored, or `undefined` when there is none. */
  readonly envelope: WireData | undefined;
  /** When it was queued, when the transport knows. */
  readonly storedAt: Date | undefined;
}

/**
 * Read and remove the messages waiting in a durable queue that nobody consumes — what a dead-letter
 * sink's letters are. Offered by transports that can be a sink (`TransportDefinition.storedMessages`).
 */
export interface StoredMessages {
  /** How many messages wait. */
  count(): Promise<number>;
  /** Waiting messages, newest first, `limit` (default 100) from `offset`. */
  list(offset?: number, limit?: number): Promise<StoredMessage[]>;
  /** One waiting message by message id, or `undefined`. */
  get(id: string): Promise<StoredMessage | undefined>;
  /** Removes one waiting message (`id`) or all of them; returns how many were removed. */
  remove(id?: string): Promise<number>;
  /** Releases what the object opened. */
  close(): Promise<void>;
}

/** A dead letter named by one `id`, whatever the transport calls it (`jobId`, `messageId`, …). */
export type IdentifiedDeadLetter = DeadLetterRecord & { readonly id: string };

/**
 * A transport's {@link DeadLetterQueue} whose letters carry `id` (read with `idOf`): what
 * `TransportDefinition.deadLetters()` returns. For adapter authors.
 *
 * @example
 * deadLetters: () => withLetterIds(new DeadLetters({ queueName, connection }), (letter) => letter.jobId),
 */
export function withLetterIds<Letter extends DeadLetterRecord>(
  queue: DeadLetterQueue<Letter>,
  idOf: (letter: Letter) => string,
): DeadLetterQueue<Letter & { readonly id: string }> {
  const identify = (letter: Letter): Letter & { readonly id: string } => ({ ...letter, id: idOf(letter) });
  return {
    count: () => queue.count(),
    list: async (offset, limit) => (await queue.list(offset, limit)).map(identify),
    get: async (id) => {
      const letter = await queue.get(id);
      return letter === undefined ? undefined : identify(letter);
    },
    replay: (id) => queue.replay(id),
    replayAll: (limit) => queue.replayAll(limit),
    purge: (id) => queue.purge(id),
    close: () => queue.close(),
  };
}
