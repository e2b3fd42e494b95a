import {
  type AnyMessage,
  currentInstrumentation,
  deliveryOptionsRefused,
  Lifecycle,
  type LifecycleState,
  type MessageProducer,
  type ProduceOptions,
  type ProducerCapabilities,
  ProducerClosedError,
  withMetadata,
} from '@switchyard/core';

/** Writes one message into the outbox for one target (see `PostgresOutbox`). */
export type OutboxWrite = (message: AnyMessage, target: string) => Promise<void>;

/**
 * The route target `outbox.to(target)` returns: a producer that writes each message into the
 * outbox table, in the transaction bound to the dispatch (`outbox.transaction()` / `outbox.bind()`).
 * The relay forwards it to `target` after the commit. Not for queries (no replies): routers refuse
 * to route a query to it.
 */
export class OutboxProducer implements MessageProducer {
  readonly capabilities: ProducerCapabilities = Object.freeze({
    replies: false,
    confirmsHandling: false,
    durable: true,
  });
  /** The relay's name of the producer or bus the messages go to. */
  readonly target: string;
  readonly #write: OutboxWrite;
  readonly #lifecycle: Lifecycle<string>;
  readonly #address: string;

  constructor(target: string, write: OutboxWrite, address: string) {
    this.target = target;
    this.#write = write;
    this.#address = address;
    this.#lifecycle = new Lifecycle('OutboxProducer', {});
  }

  /** Nothing to connect (writes go through the bound transaction); resolves with `outbox:<schema>/<target>`. */
  start(): Promise<string> {
    return this.#lifecycle.start(async () => this.#address);
  }

  /**
   * Stages the message in the bound transaction: it is written into the outbox table just before
   * that transaction commits (by `outbox.transaction()` / at the end of `outbox.bind()`), and sent
   * only if it commits. Rejects with `SWITCHYARD_INVALID_CONFIGURATION` when no transaction is bound
   * (unless the outbox's `unbound` is `'autocommit'`, which writes it at once in a statement of its
   * own) and for a query; a failed write rejects the transaction with `SWITCHYARD_TRANSPORT_ERROR`.
   */
  produce(message: AnyMessage, options?: ProduceOptions): Promise<void> {
    const lifecycle = this.#lifecycle;
    if (lifecycle.closing) return Promise.reject(new ProducerClosedError());
    // The relay forwards the message as it was committed: per-message delivery options would be lost.
    const refused =
      options?.delivery === undefined
        ? undefined
        : deliveryOptionsRefused(options.delivery, [], message.name, 'the outbox');
    if (refused !== undefined) return Promise.reject(refused);
    lifecycle.inFlight.enter();
    // Instrumented (OpenTelemetry): a send span for the outbox write, and the trace context stored
    // with the message, so the relay's send continues the same trace after the commit.
    const instrumentation = currentInstrumentation();
    const written =
      instrumentation?.send === undefined
        ? this.#write(message, this.target)
        : instrumentation.send({ message, transport: 'outbox', component: 'OutboxProducer' }, (metadata) =>
            this.#write(metadata === undefined ? message : withMetadata(message, metadata), this.target),
          );
    return written.finally(() => lifecycle.inFlight.leave());
  }

  /** Refuses further messages and waits (bounded) for writes in progress. Once. */
  close(): Promise<void> {
    return this.#lifecycle.close({ release: () => undefined });
  }

  /** `new`, `starting`, `started`, `closing` or `closed`. */
  get state(): LifecycleState {
    return this.#lifecycle.state;
  }

  /** Writes in progress. */
  get inFlight(): number {
    return this.#lifecycle.inFlight.size;
  }
}
