/**
 * @switchyard/core — command, event and query buses on one plugin pipeline, message definitions,
 * the MessageProducer transport contract, the envelope codec and the in-memory transport.
 *
 * @example
 * import { CommandBus, CommandRouter, defineCommand } from '@switchyard/core';
 *
 * const RegisterUser = defineCommand<{ email: string }>('RegisterUser');
 * const router = new CommandRouter();
 * router.route(RegisterUser).to(async (cmd) => console.log('registering', cmd.payload.email));
 * const commandBus = new CommandBus();
 * commandBus.use(router);
 * await commandBus.dispatch(RegisterUser.create({ email: 'ada@example.com' }));
 *
 * @module
 */

export { ENVELOPE_VERSION, JsonCodec, type JsonCodecOptions } from './codec/json-codec.ts';
export type { MessageCodec, Reply, WireData } from './codec/message-codec.ts';
export { CommandBus, type CommandBusOptions } from './command-bus.ts';
export { Deferred } from './deferred.ts';
export * from './definitions.ts';
export {
  type DeliveryOption,
  type DeliveryOptions,
  deliveryOptionsOf,
  deliveryOptionsRefused,
  unsupportedDeliveryOptions,
} from './delivery-options.ts';
export { DispatchContext } from './dispatch-context.ts';
export type { DispatchOptions, HandlerContext } from './dispatch-options.ts';
export * from './errors.ts';
export { EventBus, type EventBusOptions } from './event-bus.ts';
export {
  InMemoryChannel,
  type InMemoryDelivery,
  type InMemoryEndpoint,
} from './in-memory/in-memory-channel.ts';
export { InMemoryConsumer, type InMemoryConsumerOptions } from './in-memory/in-memory-consumer.ts';
export { InMemoryProducer, type InMemoryProducerOptions } from './in-memory/in-memory-producer.ts';
export { InMemoryTopic } from './in-memory/in-memory-topic.ts';
export {
  InMemoryTopicPublisher,
  type InMemoryTopicPublisherOptions,
} from './in-memory/in-memory-topic-publisher.ts';
export { type InMemoryTopicOptions, inMemoryTopic } from './in-memory/in-memory-topic-transport.ts';
export { type InMemoryTransportOptions, inMemoryTransport } from './in-memory/in-memory-transport.ts';
export type { JsonValue, Metadata } from './json.ts';
export * from './message.ts';
export { type BusKind, MessageBus } from './message-bus.ts';
export * from './message-producer.ts';
export {
  CAUSATION_ID,
  CORRELATION_ID,
  causationIdOf,
  correlationIdOf,
  handledMessage,
} from './observability/handling-scope.ts';
export {
  currentInstrumentation,
  type DeadLetterObservation,
  type DispatchObservation,
  type Instrumentation,
  installInstrumentation,
  type ProcessObservation,
  reportDeadLetter,
  type SendObservation,
} from './observability/instrumentation.ts';
export { TRACEPARENT, TRACESTATE, withTraceHeaders } from './observability/trace-context.ts';
export { type BusEvent, type Listener, type ListenerHandle, Priority, phaseOf } from './pipeline.ts';
export { AsyncSwitchRouter, type ProducerSwitch } from './plugins/async-switch-router.ts';
export { type CommandHandler, type CommandRoute, CommandRouter } from './plugins/command-router.ts';
export { type DeferredFinder, deferredFinder } from './plugins/deferred-finder.ts';
export {
  type EventListener,
  type EventRoute,
  type EventRouteMore,
  type EventRouteOptions,
  EventRouter,
} from './plugins/event-router.ts';
export { FinalizeGuard, type ResultAuthorizer } from './plugins/finalize-guard.ts';
export { FinderInvokeStrategy } from './plugins/finder-invoke-strategy.ts';
export { HandleCommandStrategy, INVOKE_STRATEGY_PRIORITY } from './plugins/handle-command-strategy.ts';
export { ListenerExceptionCollectionMode } from './plugins/listener-exception-collection-mode.ts';
export { MessageProducerPlugin, PRODUCER_PLUGIN_PRIORITY } from './plugins/message-producer-plugin.ts';
export { OnEventStrategy } from './plugins/on-event-strategy.ts';
export { AbstractPlugin, type Plugin } from './plugins/plugin.ts';
export { type QueryFinder, type QueryRoute, QueryRouter } from './plugins/query-router.ts';
export { type RegexRoute, RegexRouter } from './plugins/regex-router.ts';
export { ROUTE_GUARD_PRIORITY, type RouteAuthorizer, RouteGuard } from './plugins/route-guard.ts';
export type { RouteKey } from './plugins/route-targets.ts';
export { Router } from './plugins/router.ts';
export { ServiceLocatorPlugin, type ServiceResolver } from './plugins/service-locator-plugin.ts';
export { VALIDATE_ON_DISPATCH_PRIORITY, ValidateOnDispatch } from './plugins/validate-on-dispatch.ts';
export { QueryBus, type QueryBusOptions, type QueryDispatchOptions } from './query-bus.ts';
export { type CloseOnSignalsOptions, closeOnSignals } from './switchyard/close-on-signals.ts';
export {
  createSwitchyard,
  type Switchyard,
  type SwitchyardOptions,
  type ValidationMode,
} from './switchyard/create-switchyard.ts';
export type {
  DeadLetterAdmin,
  DeadLetterEntry,
  DeadLetterListOptions,
} from './switchyard/dead-letter-admin.ts';
export { type HandlerBinding, type HandlerOf, handle } from './switchyard/handler-binding.ts';
export { LazyProducer } from './switchyard/lazy-producer.ts';
export {
  checkRouteTable,
  LOCAL,
  parseRoutes,
  type ReplyingTransportName,
  type RouteTable,
  type TransportName,
  type TypedRoute,
} from './switchyard/route-table.ts';
export type { RoutingEntry } from './switchyard/routing-table.ts';
export {
  type ConsumerSide,
  type ConsumerWiring,
  defineTransport,
  type MessageConsumer,
  type TransportDefinition,
  type TransportSides,
} from './switchyard/transport-definition.ts';
export {
  DEAD_LETTER,
  type DeadLetterInfo,
  type DeadLetterOrigin,
  type DeadLetterSinkOptions,
  deadLetterInfoOf,
  UNDECODABLE,
  withoutDeadLetter,
} from './transport/dead-letter-sink.ts';
export {
  type DeadLetterQueue,
  type DeadLetterRecord,
  decodeDeadLetter,
} from './transport/dead-letters.ts';
export {
  type Backoff,
  backoffDelay,
  type DeliveryFate,
  deliveryFate,
  failedReason,
} from './transport/delivery-fate.ts';
export {
  consoleErrorLogger,
  type ErrorContext,
  type ErrorHook,
  ErrorReporter,
  type ErrorReportingOptions,
  type Logger,
} from './transport/error-reporter.ts';
export {
  FAILURE_OUTCOMES,
  type FailureOutcome,
  failureOutcome,
  type ReceiveFailure,
} from './transport/failure-outcome.ts';
export { fulfilledWithin } from './transport/fulfilled-within.ts';
export { InFlight } from './transport/in-flight.ts';
export {
  type CloseSteps,
  Lifecycle,
  type LifecycleOptions,
  type LifecycleState,
} from './transport/lifecycle.ts';
export { MessageReceiver, type ReceiveResult, type ReceiverOptions } from './transport/message-receiver.ts';
export { checkOption } from './transport/option-checks.ts';
export { PendingReplies, type PendingRepliesOptions } from './transport/pending-replies.ts';
export type {
  OutgoingMessage,
  ProducerWire,
  ReplySink,
  WireCapabilities,
  WireChannel,
  WireReplies,
} from './transport/producer-wire.ts';
export { isLoopbackHost, requireAuthOffLoopback } from './transport/protected-mode.ts';
export {
  type IdentifiedDeadLetter,
  type StoredMessage,
  type StoredMessages,
  withLetterIds,
} from './transport/stored-messages.ts';
export {
  checkSubscription,
  eventMatcher,
  type SubscriptionOptions,
} from './transport/subscription.ts';
export { TransportConsumer, type TransportConsumerOptions } from './transport/transport-consumer.ts';
export { TransportProducer, type TransportProducerOptions } from './transport/transport-producer.ts';
