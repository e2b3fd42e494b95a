import { JsonCodec } from '../codec/json-codec.ts';
import type { MessageCodec, Reply, WireData } from '../codec/message-codec.ts';
import type { CommandBus } from '../command-bus.ts';
import { type AnyDefinition, DefinitionRegistry, validateMessage } from '../definitions.ts';
import {
  DeadlineExceededError,
  DecodeError,
  NoHandlerError,
  toRemoteErrorInfo,
  ValidationError,
} from '../errors.ts';
import type { EventBus } from '../event-bus.ts';
import type { Metadata } from '../json.ts';
import {
  type AnyMessage,
  type CommandMessage,
  deadlineOf,
  type EventMessage,
  type QueryMessage,
  RECEIVED_FROM,
  withMetadata,
} from '../message.ts';
import { currentInstrumentation } from '../observability/instrumentation.ts';
import type { QueryBus } from '../query-bus.ts';
import { type FailureOutcome, failureOutcome, type ReceiveFailure } from './failure-outcome.ts';

export type { ReceiveFailure } from './failure-outcome.ts';

/** Options shared by every consumer: where messages go and how they are read. */
export interface ReceiverOptions {
  /** Bus for arriving commands. @default undefined — commands are refused as unknown */
  readonly commandBus?: CommandBus | undefined;
  /** Bus for arriving events. @default undefined — events are refused as unknown */
  readonly eventBus?: EventBus | undefined;
  /** Bus for arriving queries. @default undefined — queries are answered with a no-handler error */
  readonly queryBus?: QueryBus | undefined;
  /** Wire format. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
  /**
   * Definitions whose Standard Schema validates the payload of each arriving message of that name;
   * a failure is a `SWITCHYARD_VALIDATION_ERROR` and the handler never runs. Definitions routed on
   * the buses (`router.route(RegisterUser)`) are used too, so this is needed only for messages
   * routed by name.
   * @default undefined — the definitions routed on the buses
   */
  readonly definitions?: Iterable<AnyDefinition> | DefinitionRegistry | undefined;
  /**
   * Validate arriving payloads against their definition's schema (see `definitions`). Turn off only
   * when the sender validates and the transport is trusted.
   * @default true
   */
  readonly validate?: boolean | undefined;
  /** Put the remote error's stack in failed replies. Off by default: stacks leak internals. @default false */
  readonly exposeErrorStack?: boolean | undefined;
  /**
   * The subscriber group this consumer receives for (topic consumers set it from their `group`), so
   * that instrumentation can name it (`messaging.consumer.group.name`).
   * @default undefined — not a topic subscriber
   */
  readonly consumerGroup?: string | undefined;
}

const BUS_OF_KIND: Readonly<Record<string, 'commandBus' | 'eventBus' | 'queryBus'>> = {
  command: 'commandBus',
  event: 'eventBus',
  query: 'queryBus',
};

/** The outcome of one received message. */
export type ReceiveResult =
  | { readonly ok: true; readonly message: AnyMessage; readonly reply: Reply | undefined }
  | {
      readonly ok: false;
      readonly failure: ReceiveFailure;
      /** What the failure means on every transport: retry, dead letter, HTTP status. */
      readonly outcome: FailureOutcome;
      readonly error: unknown;
      /** The decoded message, when decoding got that far. */
      readonly message: AnyMessage | undefined;
      /** For a decoded query: the error reply to send back. */
      readonly reply: Reply | undefined;
    };

/**
 * The receive pipeline every consumer shares: decode → validate → mark as arrived → refuse if the
 * deadline passed → dispatch into the bus of its kind (with the transport's abort signal) → build
 * the reply. Failures are classified by the one outcome table ({@link failureOutcome}). Adapters add
 * only the transport: reading bytes, writing replies, acknowledging.
 */
export class MessageReceiver {
  /** The codec used to decode envelopes and encode replies. */
  readonly codec: MessageCodec;
  readonly #options: ReceiverOptions;
  readonly #transport: string;
  readonly #definitions: DefinitionRegistry | undefined;
  readonly #receivedFrom: Metadata;
  readonly #validate: boolean;
  readonly #consumerGroup: string | undefined;

  /** @param transport the name put in the `switchyard.receivedFrom` metadata, e.g. `"bullmq"`. */
  constructor(transport: string, options: ReceiverOptions) {
    this.#receivedFrom = Object.freeze({ [RECEIVED_FROM]: transport });
    this.#options = options;
    this.#transport = transport;
    this.#consumerGroup = options.consumerGroup;
    this.codec = options.codec ?? new JsonCodec();
    this.#validate = options.validate !== false;
    const definitions = options.definitions;
    this.#definitions =
      definitions === undefined || definitions instanceof DefinitionRegistry
        ? definitions
        : new DefinitionRegistry(definitions);
  }

  /** Decodes, validates and marks a message; rejects with `DecodeError`, `PayloadTooLargeError` or `ValidationError`. */
  decode(data: WireData): Promise<AnyMessage> {
    let decoded: AnyMessage;
    try {
      decoded = this.codec.decode(data);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.accept(decoded);
  }

  /**
   * Validates an already decoded message against its definition and marks it as arrived from this
   * transport; throws `ValidationError`. For adapters that need the id before dispatch (de-duplication).
   */
  accept(decoded: AnyMessage): Promise<AnyMessage> {
    let accepted: AnyMessage | Promise<AnyMessage>;
    try {
      accepted = this.acceptNow(decoded);
    } catch (error) {
      return Promise.reject(error);
    }
    return accepted instanceof Promise ? accepted : Promise.resolve(accepted);
  }

  /**
   * {@link accept} without a promise when nothing needs one: the marked message itself when its
   * definition has no schema (or there is none), else the promise of the validation (which rejects
   * with `ValidationError`). Throws the `ValidationError` of a message that arrived as the wrong
   * kind. For adapters on a hot path: a message accepted at once costs no promise and no turn.
   */
  acceptNow(decoded: AnyMessage): AnyMessage | Promise<AnyMessage> {
    const definition = this.#definitionOf(decoded);
    if (definition !== undefined && definition.kind !== decoded.kind) {
      throw new ValidationError(decoded.name, [
        { message: `"${decoded.name}" is a ${definition.kind}, but arrived as a ${decoded.kind}` },
      ]);
    }
    // No definition, or one without a schema (routed for its name and kind only): nothing to run,
    // so no `validateMessage` — an async function — and none of the promise turns it costs.
    if (definition?.schema === undefined) return this.#mark(decoded);
    return validateMessage(definition, decoded).then(this.#markValid);
  }

  /** The definition to validate `message` with: the given ones first, then those routed on its bus. */
  #definitionOf(message: AnyMessage): AnyDefinition | undefined {
    if (!this.#validate) return undefined;
    const given = this.#definitions?.get(message.name);
    if (given !== undefined) return given;
    const bus = BUS_OF_KIND[message.kind];
    return bus === undefined ? undefined : this.#options[bus]?.definitions.get(message.name);
  }

  #mark(message: AnyMessage): AnyMessage {
    return withMetadata(message, this.#receivedFrom);
  }

  readonly #markValid = (message: AnyMessage): AnyMessage => this.#mark(message);

  /**
   * Dispatches a decoded message into its bus; never rejects. A message whose deadline has passed
   * is refused with `SWITCHYARD_DEADLINE_EXCEEDED` and its handler does not run; otherwise the bus
   * bounds the handler by that deadline. `signal` is the transport's own "the caller went away"
   * (an HTTP request aborted); the handler's signal fires with it. A function that makes the signal
   * is called only if a handler reads its signal (see `DispatchOptions.handlerSignal`).
   */
  dispatch(message: AnyMessage, signal?: AbortSignal | (() => AbortSignal)): Promise<ReceiveResult> {
    // Instrumentation (observability/instrumentation.ts) wraps the processing, e.g. to extract trace context.
    const instrumentation = currentInstrumentation();
    if (instrumentation?.process !== undefined) {
      const observation = { message, transport: this.#transport, consumerGroup: this.#consumerGroup };
      return instrumentation.process(observation, () => this.#dispatch(message, signal));
    }
    return this.#dispatch(message, signal);
  }

  #dispatch(
    message: AnyMessage,
    signal: AbortSignal | (() => AbortSignal) | undefined,
  ): Promise<ReceiveResult> {
    const deadline = deadlineOf(message);
    if (deadline !== undefined && deadline <= Date.now()) {
      return Promise.resolve(this.failed(new DeadlineExceededError(message.name, deadline), message));
    }
    // The caller going away fires the handler's signal; it does not need to cut the dispatch short.
    const options = signal === undefined ? undefined : { handlerSignal: signal };
    let dispatched: Promise<unknown>;
    try {
      switch (message.kind) {
        case 'command':
          dispatched = this.#bus('commandBus', message).dispatch(message as CommandMessage, options);
          break;
        case 'event':
          dispatched = this.#bus('eventBus', message).dispatch(message as EventMessage, options);
          break;
        case 'query':
          dispatched = this.#bus('queryBus', message).dispatch(message as QueryMessage, options);
          break;
        default:
          throw new NoHandlerError(`Unknown message kind of "${message.name}"`);
      }
    } catch (error) {
      return Promise.resolve(this.failed(error, message));
    }
    return dispatched.then(
      (result): ReceiveResult => ({
        ok: true,
        message,
        reply: message.kind === 'query' ? { inReplyTo: message.id, ok: true, result } : undefined,
      }),
      (error: unknown) => this.failed(error, message),
    );
  }

  /** Decodes, validates and dispatches (see {@link dispatch}); never throws. */
  async receive(data: WireData, signal?: AbortSignal): Promise<ReceiveResult> {
    let decoded: AnyMessage;
    try {
      decoded = this.codec.decode(data);
    } catch (error) {
      return this.failed(error, undefined);
    }
    return this.#receiveDecoded(decoded, signal);
  }

  /**
   * {@link receive} for an envelope the transport already parsed from JSON (BullMQ's job data),
   * decoded by the codec's `decodeObject`; a codec without it fails the delivery with a `DecodeError`.
   */
  async receiveObject(value: unknown, signal?: AbortSignal): Promise<ReceiveResult> {
    let decoded: AnyMessage;
    try {
      if (this.codec.decodeObject === undefined)
        throw new DecodeError(`The codec (${this.codec.contentType}) cannot decode an envelope object`);
      decoded = this.codec.decodeObject(value);
    } catch (error) {
      return this.failed(error, undefined);
    }
    return this.#receiveDecoded(decoded, signal);
  }

  async #receiveDecoded(decoded: AnyMessage, signal: AbortSignal | undefined): Promise<ReceiveResult> {
    let message: AnyMessage;
    try {
      message = await this.accept(decoded);
    } catch (error) {
      // The envelope was readable: a query still gets its error reply.
      return this.failed(error, decoded);
    }
    return this.dispatch(message, signal);
  }

  /**
   * Encodes a reply. A result the codec cannot carry (a BigInt, a cycle) becomes an error reply with
   * `SWITCHYARD_ENCODE_ERROR`, so the caller is told instead of left waiting.
   */
  encodeReply(reply: Reply): WireData {
    try {
      return this.codec.encodeReply(reply);
    } catch (error) {
      return this.codec.encodeReply({
        inReplyTo: reply.inReplyTo,
        ok: false,
        error: toRemoteErrorInfo(error),
      });
    }
  }

  /**
   * Builds the error reply for a query that failed before or during dispatch — from the message, or
   * from its id alone when the transport knows it (a correlation frame) but the envelope was unreadable.
   */
  errorReply(messageOrId: AnyMessage | string, error: unknown): Reply {
    return {
      inReplyTo: typeof messageOrId === 'string' ? messageOrId : messageOrId.id,
      ok: false,
      error: toRemoteErrorInfo(error, this.#options.exposeErrorStack === true),
    };
  }

  #bus<K extends 'commandBus' | 'eventBus' | 'queryBus'>(
    key: K,
    message: AnyMessage,
  ): NonNullable<ReceiverOptions[K]> {
    const bus = this.#options[key];
    if (bus === undefined || bus === null) {
      throw new NoHandlerError(`This consumer has no ${message.kind} bus for "${message.name}"`);
    }
    return bus as NonNullable<ReceiverOptions[K]>;
  }

  /**
   * The result for a message that failed before or outside `dispatch` (e.g. an adapter's own decode
   * or validation step): the failure kind and, for a decoded query, its error reply.
   */
  failed(error: unknown, message?: AnyMessage): ReceiveResult {
    const outcome = failureOutcome(error);
    return {
      ok: false,
      failure: outcome.failure,
      outcome,
      error,
      message,
      reply: message?.kind === 'query' ? this.errorReply(message, error) : undefined,
    };
  }
}
