import { ConfigurationError } from '../errors.ts';
import type { MessageProducer, ProducerCapabilities } from '../message-producer.ts';
import type { DeadLetterSinkOptions } from '../transport/dead-letter-sink.ts';
import type { DeadLetterQueue } from '../transport/dead-letters.ts';
import type { ErrorReportingOptions } from '../transport/error-reporter.ts';
import type { ReceiverOptions } from '../transport/message-receiver.ts';
import type { IdentifiedDeadLetter, StoredMessages } from '../transport/stored-messages.ts';

/**
 * What `createSwitchyard` hands a transport's consumer: the process's buses, its definitions, and
 * the validation and error-reporting settings. Adapters spread it first into their consumer's
 * options, then the user's consumer options over it (a consumer's own `onError` wins).
 */
export interface ConsumerWiring
  extends Required<Pick<ReceiverOptions, 'commandBus' | 'eventBus' | 'queryBus'>>,
    Pick<ReceiverOptions, 'definitions' | 'validate'>,
    ErrorReportingOptions,
    DeadLetterSinkOptions {
  /**
   * The names of the messages this process handles that are routed to this transport. A topic's
   * consumer subscribes its group to these events unless its options name `events`.
   * @default [] — `createSwitchyard` always gives it
   */
  readonly messageNames?: readonly string[] | undefined;
}

/** A consumer's options without what `createSwitchyard` wires in (buses, definitions, validation). */
export type ConsumerSide<Options> = Omit<
  Options,
  | 'commandBus'
  | 'eventBus'
  | 'queryBus'
  | 'definitions'
  | 'validate'
  | 'messageNames'
  | 'deadLetterSink'
  | 'transportName'
>;

/** A consumer as `createSwitchyard` starts and closes it. Every adapter's consumer is one. */
export interface MessageConsumer {
  /** Binds or connects and starts consuming; resolves with the address it serves. */
  start(): Promise<unknown>;
  /** Stops taking messages, lets the ones in flight finish (bounded), releases connections. */
  close(): Promise<void>;
}

/**
 * A transport by name in a process's configuration: what it can carry, and how to build its
 * producer (in a process that sends over it) or its consumer (in a process that serves it).
 * `createSwitchyard` builds each side only where it is used: the producer on the first message
 * sent through it, the consumer at `start()` when this process handles a message routed to it.
 * Adapters export a function that returns one (`httpTransport`, `bullmqTransport`, …).
 */
export interface TransportDefinition<Replies extends boolean = boolean> {
  /** The adapter, for messages and logs: `"http"`, `"bullmq"`, `"zeromq"`, `"in-memory"`. */
  readonly kind: string;
  /** What its producer can do, known before it is built: a query needs `replies: true`. */
  readonly capabilities: ProducerCapabilities & { readonly replies: Replies };
  /**
   * The producer is built and started at `start()` in a process that sends over the transport,
   * rather than on the first message: a producer that binds (a ZeroMQ publisher) must be listening
   * before subscribers can connect, or the first events reach nobody.
   * @default false — built on the first message sent through it
   */
  readonly eagerProducer?: boolean | undefined;
  /**
   * Whether the definition has consumer options. For a topic (`capabilities.fanOut`) that decides
   * the role of a process with handlers for its events: with consumer options it subscribes (its
   * handlers run on receipt), without them its handlers are the publisher's local listeners.
   */
  readonly consumes: boolean;
  /** Builds the producer. Throws `ConfigurationError` when the definition has no producer options. */
  createProducer(): MessageProducer;
  /** Builds the consumer feeding `wiring`'s buses. Throws `ConfigurationError` when it has no consumer options. */
  createConsumer(wiring: ConsumerWiring): MessageConsumer;
  /**
   * The dead letters the transport keeps itself (BullMQ's failed set, PostgreSQL's dead rows), for
   * `app.deadLetters`; a new object per call, closed by its caller. Absent when the transport keeps
   * none (HTTP, ZeroMQ, in-memory): its consumers hand theirs to `createSwitchyard`'s `deadLetters` sink.
   */
  deadLetters?(): DeadLetterQueue<IdentifiedDeadLetter>;
  /**
   * Read and remove the messages waiting in the transport's queue: what lets it be the dead-letter
   * sink (`createSwitchyard({ deadLetters })`). A new object per call, closed by its caller.
   */
  storedMessages?(): StoredMessages;
}

/** The two sides of a transport an adapter describes with {@link defineTransport}. */
export interface TransportSides<Replies extends boolean> {
  /** The adapter's name (see {@link TransportDefinition.kind}). */
  readonly kind: string;
  /** The capabilities its producer declares. */
  readonly capabilities: ProducerCapabilities & { readonly replies: Replies };
  /** Builds the producer; `undefined` when the user gave no producer options. */
  readonly producer: (() => MessageProducer) | undefined;
  /** See {@link TransportDefinition.eagerProducer}. @default false */
  readonly eagerProducer?: boolean | undefined;
  /** Builds the consumer; `undefined` when the user gave no consumer options. */
  readonly consumer: ((wiring: ConsumerWiring) => MessageConsumer) | undefined;
  /** See {@link TransportDefinition.deadLetters}. @default undefined — the transport keeps no dead letters */
  readonly deadLetters?: (() => DeadLetterQueue<IdentifiedDeadLetter>) | undefined;
  /** See {@link TransportDefinition.storedMessages}. @default undefined — it cannot be a dead-letter sink */
  readonly storedMessages?: (() => StoredMessages) | undefined;
}

/**
 * Builds a {@link TransportDefinition} from an adapter's two optional sides; the side that was not
 * configured throws a `ConfigurationError` that says which options are missing. For adapter authors.
 *
 * @example
 * export function httpTransport(options: HttpTransportOptions): TransportDefinition<true> {
 *   return defineTransport({
 *     kind: 'http',
 *     capabilities: HTTP_CAPABILITIES,
 *     producer: options.producer && (() => new HttpProducer(options.producer!)),
 *     consumer: options.consumer && ((wiring) => new HttpConsumer({ ...wiring, ...options.consumer })),
 *   });
 * }
 */
export function defineTransport<Replies extends boolean>(
  sides: TransportSides<Replies>,
): TransportDefinition<Replies> {
  const { kind, capabilities, producer, consumer, deadLetters, storedMessages, eagerProducer } = sides;
  return Object.freeze({
    ...(eagerProducer === true && producer !== undefined ? { eagerProducer: true } : {}),
    ...(deadLetters === undefined ? {} : { deadLetters }),
    ...(storedMessages === undefined ? {} : { storedMessages }),
    kind,
    capabilities,
    consumes: consumer !== undefined,
    createProducer(): MessageProducer {
      if (producer === undefined) {
        throw new ConfigurationError(
          `This process sends over a ${kind} transport that has no producer options: give it { producer: { … } }`,
        );
      }
      return producer();
    },
    createConsumer(wiring: ConsumerWiring): MessageConsumer {
      if (consumer === undefined) {
        throw new ConfigurationError(
          `This process handles messages routed to a ${kind} transport that has no consumer options: give it { consumer: { … } }`,
        );
      }
      return consumer(wiring);
    },
  });
}
