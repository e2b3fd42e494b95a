import type { WireData } from '../codec/message-codec.ts';
import { TransportError } from '../errors.ts';
import type {
  OutgoingMessage,
  ProducerWire,
  ReplySink,
  WireCapabilities,
  WireChannel,
} from '../transport/producer-wire.ts';
import { TransportProducer, type TransportProducerOptions } from '../transport/transport-producer.ts';
import type { InMemoryChannel } from './in-memory-channel.ts';

/** Options of the {@link InMemoryProducer}. */
export interface InMemoryProducerOptions extends TransportProducerOptions {
  /** The channel consumers listen on. */
  readonly channel: InMemoryChannel;
}

/** The in-memory wire: hands encoded messages to the channel's next consumer. */
class InMemoryWire implements ProducerWire<string> {
  readonly capabilities: WireCapabilities = { replies: 'channel', confirmsHandling: false, durable: false };
  readonly #channel: InMemoryChannel;
  #replies: ReplySink | undefined;

  constructor(channel: InMemoryChannel) {
    this.#channel = channel;
  }

  async open(channel: WireChannel): Promise<string> {
    this.#replies = channel.reply;
    return 'in-memory';
  }

  send(outgoing: OutgoingMessage): Promise<WireData | undefined> {
    const sink = this.#replies!;
    const reply = outgoing.expectsReply ? (data: WireData) => sink(data) : undefined;
    if (!this.#channel.send({ data: outgoing.data, reply, signal: outgoing.signal })) {
      return Promise.reject(
        new TransportError(`No in-memory consumer listens for "${outgoing.message.name}"`),
      );
    }
    return Promise.resolve(undefined);
  }

  async close(): Promise<void> {}
}

/**
 * A producer that hands encoded messages to an {@link InMemoryConsumer} in the same process: the
 * embedded default, the demo's transport, and the reference implementation of the conformance kit.
 * Not durable: a message is lost if the process dies before its handler ran. With no consumer
 * listening, a dispatch rejects with `SWITCHYARD_TRANSPORT_ERROR`.
 *
 * @example
 * const channel = new InMemoryChannel();
 * const producer = new InMemoryProducer({ channel });
 * const consumer = new InMemoryConsumer({ channel, commandBus: workerCommandBus });
 * await consumer.start();
 * router.route(RegisterUser).to(producer);
 */
export class InMemoryProducer extends TransportProducer<string> {
  constructor(options: InMemoryProducerOptions) {
    super('InMemoryProducer', 'in-memory', new InMemoryWire(options.channel), options);
  }
}
