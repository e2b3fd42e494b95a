/**
 * @switchyard/zeromq — ZeroMQ transport for Switchyard: commands and events over Push→Pull, queries
 * over Dealer↔Router with a correlation frame (many in flight, cancellable), optional CURVE
 * encryption with a client-key allow-list. Producer and consumer run on core's transport kit: one
 * lifecycle (`start()`, `close()`, `inFlight`), one receive pipeline, one error reporter.
 *
 * @example
 * import { ZeroMQConsumer, ZeroMQProducer } from '@switchyard/zeromq';
 *
 * // worker process
 * const consumer = new ZeroMQConsumer({
 *   commandEndpoint: 'tcp://0.0.0.0:5555',
 *   queryEndpoint: 'tcp://0.0.0.0:5556',
 *   auth: 'none', // other hosts may connect without CURVE, on purpose (or give `curve`)
 *   commandBus, queryBus,
 * });
 * await consumer.start();
 *
 * // sending process
 * const producer = new ZeroMQProducer({
 *   commandEndpoint: 'tcp://worker:5555',
 *   queryEndpoint: 'tcp://worker:5556',
 * });
 * queryRouter.route(GetUser).to(producer);
 *
 * @module
 */
export { type CurveKeyPair, generateCurveKeyPair } from './generate-curve-key-pair.ts';
export { ZAP_ENDPOINT, type ZapDecision, ZapHandler, type ZapHandlerOptions } from './zap-handler.ts';
export {
  ZeroMQConsumer,
  type ZeroMQConsumerOptions,
  type ZeroMQCurveServerOptions,
} from './zeromq-consumer.ts';
export type { Endpoints, ZeroMQBoundEndpoints, ZeroMQConnectedEndpoints } from './zeromq-endpoints.ts';
export {
  type ZeroMQCurveClientOptions,
  ZeroMQProducer,
  type ZeroMQProducerOptions,
} from './zeromq-producer.ts';
export type { ZeroMQSocketOptions } from './zeromq-socket-options.ts';
export { type ZeroMQTopicOptions, zeromqTopic } from './zeromq-topic.ts';
export { ZeroMQTopicPublisher, type ZeroMQTopicPublisherOptions } from './zeromq-topic-publisher.ts';
export { ZeroMQTopicSubscriber, type ZeroMQTopicSubscriberOptions } from './zeromq-topic-subscriber.ts';
export { type ZeroMQTransportOptions, zeromqTransport } from './zeromq-transport.ts';
