import { type ConsumerSide, defineTransport, type TransportDefinition } from '@switchyard/core';
import { HttpConsumer, type HttpConsumerOptions } from './http-consumer.ts';
import { HttpProducer, type HttpProducerOptions } from './http-producer.ts';

/** Options of {@link httpTransport}: each side only where it is used. */
export interface HttpTransportOptions {
  /**
   * The producer's options (`url`, auth headers, timeouts), for a process that sends over it.
   * @default undefined — sending over this transport throws `ConfigurationError`
   */
  readonly producer?: HttpProducerOptions | undefined;
  /**
   * The consumer's options (`port`, `host`, `auth`, …) without the buses, for the process that
   * serves it.
   * @default undefined — serving this transport throws `ConfigurationError`
   */
  readonly consumer?: ConsumerSide<HttpConsumerOptions> | undefined;
}

/**
 * HTTP by name, for `createSwitchyard`: the sender builds only the undici producer, the service only
 * the node:http consumer. Carries queries (the reply is the response) and confirms handling.
 *
 * Both sides take `async` (202 + status resource, see the README) like the classes do.
 *
 * @example
 * const users = httpTransport({
 *   producer: { url: 'http://users.internal:8080/', headers: bearerHeaders(token) },
 *   consumer: { port: 8080, host: '0.0.0.0', auth: bearerAuth(token) },
 * });
 */
export function httpTransport(options: HttpTransportOptions): TransportDefinition<true> {
  const { producer, consumer } = options;
  return defineTransport({
    kind: 'http',
    capabilities: { replies: true, confirmsHandling: true, durable: false },
    producer: producer && (() => new HttpProducer(producer)),
    consumer: consumer && ((wiring) => new HttpConsumer({ ...wiring, ...consumer })),
  });
}
