/**
 * @switchyard/conformance — the transport contract every Switchyard producer/consumer pair runs.
 *
 * @example
 * import { describeTransportConformance } from '@switchyard/conformance';
 * describeTransportConformance({ name: 'my-transport', create: async (receiver) => ({ producer, close }) });
 *
 * @module
 */

export { expectFailure } from './failure-table-tests.ts';
export { DomainError, Fixtures, fixtureDefinitions } from './fixtures.ts';
export { freePort } from './free-port.ts';
export {
  describePubSubConformance,
  type PubSubConformanceOptions,
  PubSubFixtures,
  type PubSubPublisher,
  type PubSubPublisherSettings,
  type PubSubSubscriber,
  type PubSubSubscriberSettings,
} from './pubsub-conformance.ts';
export { rejectionOf } from './rejection-of.ts';
export { type StartedProcess, type StartProcessOptions, startProcess } from './start-process.ts';
export {
  type ConformanceConsumer,
  type ConformanceConsumerSettings,
  type ConformanceProducer,
  type ConformanceProducerSettings,
  describeTransportConformance,
  type PairSettings,
  type TransportConformanceOptions,
  type TransportPair,
} from './transport-conformance.ts';
export { sleep, waitFor } from './wait-for.ts';
