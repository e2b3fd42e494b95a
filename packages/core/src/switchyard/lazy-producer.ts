import { ConfigurationError, ProducerClosedError } from '../errors.ts';
import type { AnyMessage } from '../message.ts';
import type { MessageProducer, ProduceOptions, ProducerCapabilities } from '../message-producer.ts';
import type { TransportDefinition } from './transport-definition.ts';

/**
 * A route target standing for a named transport's producer, built on the first message sent through
 * it — so a process that only receives over a transport never opens a producer connection.
 */
export class LazyProducer implements MessageProducer {
  /** The transport's name in the configuration, e.g. `"users"`. */
  readonly transportName: string;
  readonly capabilities: ProducerCapabilities;
  readonly #definition: TransportDefinition;
  #producer: MessageProducer | undefined;
  #closed: Promise<void> | undefined;

  constructor(transportName: string, definition: TransportDefinition) {
    this.transportName = transportName;
    this.#definition = definition;
    this.capabilities = definition.capabilities;
  }

  /** True once the real producer was built. */
  get built(): boolean {
    return this.#producer !== undefined;
  }

  produce(message: AnyMessage, options?: ProduceOptions): Promise<void> {
    if (this.#closed !== undefined) {
      return Promise.reject(new ProducerClosedError(`The "${this.transportName}" transport is closed`));
    }
    let producer = this.#producer;
    if (producer === undefined) {
      try {
        producer = this.#build();
      } catch (error) {
        return Promise.reject(this.#named(error));
      }
    }
    return producer.produce(message, options);
  }

  /**
   * Builds the real producer now and starts it, if it has a `start()` (every `TransportProducer`
   * does): for transports whose producer must be listening early (`eagerProducer`). Resolves with
   * what its `start()` resolves with (its address).
   */
  async start(): Promise<unknown> {
    if (this.#closed !== undefined)
      throw new ProducerClosedError(`The "${this.transportName}" transport is closed`);
    let producer: MessageProducer;
    try {
      producer = this.#producer ?? this.#build();
    } catch (error) {
      throw this.#named(error);
    }
    const startable = producer as MessageProducer & { start?: () => Promise<unknown> };
    return typeof startable.start === 'function' ? await startable.start() : undefined;
  }

  #build(): MessageProducer {
    const producer = this.#definition.createProducer();
    this.#producer = producer;
    return producer;
  }

  /** Closes the real producer if it was built; once. */
  close(): Promise<void> {
    this.#closed ??= this.#producer === undefined ? Promise.resolve() : this.#producer.close();
    return this.#closed;
  }

  #named(error: unknown): unknown {
    if (!(error instanceof ConfigurationError)) return error;
    return new ConfigurationError(`Transport "${this.transportName}": ${error.message}`);
  }
}
