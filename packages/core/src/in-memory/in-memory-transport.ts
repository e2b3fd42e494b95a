import {
  type ConsumerSide,
  defineTransport,
  type TransportDefinition,
} from '../switchyard/transport-definition.ts';
import { InMemoryChannel } from './in-memory-channel.ts';
import { InMemoryConsumer, type InMemoryConsumerOptions } from './in-memory-consumer.ts';
import { InMemoryProducer, type InMemoryProducerOptions } from './in-memory-producer.ts';

/** Options of {@link inMemoryTransport}. */
export interface InMemoryTransportOptions {
  /** The channel both sides use. @default a new InMemoryChannel */
  readonly channel?: InMemoryChannel | undefined;
  /** Options of its producer (timeouts, limits). @default {} */
  readonly producer?: Omit<InMemoryProducerOptions, 'channel'> | undefined;
  /** Options of its consumer (concurrency, onError, …). @default {} */
  readonly consumer?: Omit<ConsumerSide<InMemoryConsumerOptions>, 'channel'> | undefined;
}

/**
 * The in-memory transport by name, for `createSwitchyard`: messages go through the encode/decode
 * round trip of a real transport inside one process — a stand-in for one you deploy later, and the
 * way to test that a message survives the wire.
 *
 * @example
 * const app = createSwitchyard({ transports: { bus: inMemoryTransport() }, routes: { RegisterUser: 'bus' }, … });
 */
export function inMemoryTransport(options: InMemoryTransportOptions = {}): TransportDefinition<true> {
  const channel = options.channel ?? new InMemoryChannel();
  return defineTransport({
    kind: 'in-memory',
    capabilities: { replies: true, confirmsHandling: false, durable: false },
    producer: () => new InMemoryProducer({ ...options.producer, channel }),
    consumer: (wiring) => new InMemoryConsumer({ ...wiring, ...options.consumer, channel }),
  });
}
