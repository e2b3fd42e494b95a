import { type ConsumerSide, defineTransport, type TransportDefinition } from '@switchyard/core';
import { ZeroMQConsumer, type ZeroMQConsumerOptions } from './zeromq-consumer.ts';
import { ZeroMQProducer, type ZeroMQProducerOptions } from './zeromq-producer.ts';

/** Options of {@link zeromqTransport}: each side only where it is used. */
export interface ZeroMQTransportOptions {
  /**
   * The producer's options (the endpoints to connect to, CURVE keys), for a process that sends over
   * it. Without a `queryEndpoint` the transport carries no queries.
   * @default undefined — sending over this transport throws `ConfigurationError`
   */
  readonly producer?: ZeroMQProducerOptions | undefined;
  /**
   * The consumer's options (the endpoints to bind, `curve` or `auth: 'none'`) without the buses,
   * for the process that serves it.
   * @default undefined — serving this transport throws `ConfigurationError`
   */
  readonly consumer?: ConsumerSide<ZeroMQConsumerOptions> | undefined;
}

/**
 * ZeroMQ by name, for `createSwitchyard`: Push/Pull for commands and events, Dealer/Router for
 * queries. It carries queries unless its producer has no `queryEndpoint` (then routing a query to
 * it is a compile error, and a `ConfigurationError` for routes given as data).
 *
 * @example
 * const counters = zeromqTransport({
 *   producer: { commandEndpoint: 'tcp://users.internal:5555', queryEndpoint: 'tcp://users.internal:5556' },
 *   consumer: { commandEndpoint: 'tcp://0.0.0.0:5555', queryEndpoint: 'tcp://0.0.0.0:5556', curve },
 * });
 */
export function zeromqTransport(
  options: ZeroMQTransportOptions & { readonly producer: { readonly queryEndpoint?: undefined } },
): TransportDefinition<false>;
export function zeromqTransport(options: ZeroMQTransportOptions): TransportDefinition<true>;
export function zeromqTransport(options: ZeroMQTransportOptions): TransportDefinition {
  const { producer, consumer } = options;
  return defineTransport({
    kind: 'zeromq',
    capabilities: {
      replies: producer === undefined || producer.queryEndpoint !== undefined,
      confirmsHandling: false,
      durable: false,
    },
    producer: producer && (() => new ZeroMQProducer(producer)),
    consumer: consumer && ((wiring) => new ZeroMQConsumer({ ...wiring, ...consumer })),
  });
}
