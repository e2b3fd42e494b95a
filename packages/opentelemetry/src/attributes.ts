/**
 * Attribute names on Switchyard's spans and metrics. The `messaging.*` and `error.type` names are the
 * OpenTelemetry messaging semantic conventions'; `switchyard.*` are this package's own.
 */
export const ATTR = {
  /** The transport (`in-memory`, `http`, `bullmq`, `zeromq`, …) on send/process; `switchyard` on local dispatch. */
  messagingSystem: 'messaging.system',
  /** `send` (PRODUCER spans) or `process` (CONSUMER spans). */
  operationType: 'messaging.operation.type',
  /** `send`, `process` or `dispatch` (INTERNAL spans). */
  operationName: 'messaging.operation.name',
  /** The message name: Switchyard routes by it, it is the logical destination. */
  destinationName: 'messaging.destination.name',
  /** The subscriber group of a topic consumer (CONSUMER spans of topics only). */
  consumerGroup: 'messaging.consumer.group.name',
  /** The message id (UUID). */
  messageId: 'messaging.message.id',
  /** The correlation id (see core's `CORRELATION_ID`; the message's own id for a root message). */
  conversationId: 'messaging.message.conversation_id',
  /** The error code of a failure: the Switchyard code (e.g. `SWITCHYARD_HANDLER_FAILED`), else the error's name. */
  errorType: 'error.type',
  /** The message name. */
  messageName: 'switchyard.message.name',
  /** `command`, `event` or `query`. */
  messageKind: 'switchyard.message.kind',
  /** The id of the message whose handler dispatched this one, when there is one. */
  causationId: 'switchyard.causation_id',
  /** The bus of a local dispatch: `command`, `event` or `query`. */
  bus: 'switchyard.bus',
  /** `ok`, or the failure kind of core's outcome table (`handler`, `timeout`, `validation`, `expired`, …). */
  outcome: 'switchyard.outcome',
  /** For a failure reported by the remote side: the remote error's code. */
  remoteCode: 'switchyard.remote_code',
} as const;

/** Metric names (see the README for units and attributes). */
export const METRIC = {
  sent: 'messaging.client.sent.messages',
  consumed: 'messaging.client.consumed.messages',
  sendDuration: 'messaging.client.operation.duration',
  processDuration: 'messaging.process.duration',
  dispatchDuration: 'switchyard.dispatch.duration',
  failed: 'switchyard.messages.failed',
  inFlight: 'switchyard.messages.in_flight',
  deadLettered: 'switchyard.messages.dead_lettered',
} as const;
