import { JsonCodec } from '../codec/json-codec.ts';
import type { MessageCodec, WireData } from '../codec/message-codec.ts';
import type { Deferred } from '../deferred.ts';
import { ProducerClosedError, TransportError } from '../errors.ts';
import type { AnyMessage } from '../message.ts';
import type { MessageProducer, ProducerCapabilities } from '../message-producer.ts';
import { PendingReplies } from '../transport/pending-replies.ts';
import type { InMemoryChannel } from './in-memory-channel.ts';

/** Options of the {@link InMemoryProducer}. */
export interface InMemoryProducerOptions {
  /** The channel consumers listen on. */
  readonly channel: InMemoryChannel;
  /** Wire format. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
  /** Reject a query with `SWITCHYARD_TIMEOUT` if no reply came in this time. @default 30_000 */
  readonly replyTimeoutMs?: number | undefined;
}

/**
 * A producer that hands encoded messages to an {@link InMemoryConsumer} in the same process: the
 * embedded default, the demo's transport, and the reference implementation of the conformance kit.
 * Not durable: a message is lost if the process dies before its handler ran.
 *
 * @example
 * const channel = new InMemoryChannel();
 * const producer = new InMemoryProducer({ channel });
 * const consumer = new InMemoryConsumer({ channel, commandBus: workerCommandBus });
 * router.route(RegisterUser).to(producer);
 */
export class InMemoryProducer implements MessageProducer {
  readonly capabilities: ProducerCapabilities = { replies: true, confirmsHandling: false, durable: false };
  readonly #channel: InMemoryChannel;
  readonly #codec: MessageCodec;
  readonly #pending: PendingReplies;
  #closed = false;

  constructor(options: InMemoryProducerOptions) {
    this.#channel = options.channel;
    this.#codec = options.codec ?? new JsonCodec();
    this.#pending = new PendingReplies({ timeoutMs: options.replyTimeoutMs ?? 30_000 });
  }

  /** Queries waiting for their reply. */
  get pendingReplies(): number {
    return this.#pending.size;
  }

  async produce(message: AnyMessage, deferred?: Deferred<unknown>): Promise<void> {
    if (this.#closed) throw new ProducerClosedError();
    const data = this.#codec.encode(message);
    const wantsReply = deferred !== undefined && message.kind === 'query';
    if (wantsReply) {
      if (deferred.settled || !this.#pending.add(message.id, message.name, deferred)) return;
    }
    const reply = wantsReply ? (answer: WireData) => this.#onReply(answer) : undefined;
    if (!this.#channel.send({ data, reply })) {
      const error = new TransportError(`No in-memory consumer listens for "${message.name}"`);
      if (wantsReply) this.#pending.reject(message.id, error);
      throw error;
    }
  }

  /** Refuses new messages and rejects queries still waiting with `SWITCHYARD_PRODUCER_CLOSED`. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pending.rejectAll(new ProducerClosedError('The producer closed before the reply arrived'));
  }

  #onReply(data: WireData): void {
    try {
      this.#pending.settle(this.#codec.decodeReply(data));
    } catch {
      // A reply we cannot read cannot be matched to a query; the query times out instead.
    }
  }
}
