import type { WireData } from '../codec/message-codec.ts';
import { ConfigurationError } from '../errors.ts';
import { enableHandlingScope } from '../observability/handling-scope.ts';
import { checkDeadLetterSink, DeadLetterSink, type DeadLetterSinkOptions } from './dead-letter-sink.ts';
import { ErrorReporter, type ErrorReportingOptions } from './error-reporter.ts';
import { Lifecycle, type LifecycleOptions, type LifecycleState } from './lifecycle.ts';
import { MessageReceiver, type ReceiveResult, type ReceiverOptions } from './message-receiver.ts';
import { checkOption } from './option-checks.ts';

/** The options every consumer takes, whatever its transport. */
export interface TransportConsumerOptions
  extends ReceiverOptions,
    LifecycleOptions,
    ErrorReportingOptions,
    DeadLetterSinkOptions {
  /**
   * Messages handled at the same time. At the limit the consumer stops taking more (the transport
   * pushes back on the producers, or keeps them queued).
   * @default the adapter's (documented in its README)
   */
  readonly concurrency?: number | undefined;
}

/**
 * The base of every consumer: one lifecycle (`start()` once → address, `close()` once and bounded by
 * `closeTimeoutMs`, `inFlight`), one receive pipeline ({@link MessageReceiver}), one error reporter
 * (`onError`, `logger`) and one concurrency limit. An adapter implements `open`, `stopIntake` and
 * `release`, and hands each delivery to {@link handle}.
 */
export abstract class TransportConsumer<Address = string> {
  /** The receive pipeline: decode → validate → mark → refuse expired → dispatch → reply. */
  protected readonly receiver: MessageReceiver;
  /** Where background failures go. */
  protected readonly errors: ErrorReporter;
  /** Start once, close once, in-flight counting. */
  protected readonly lifecycle: Lifecycle<Address>;
  /** Most messages handled at once. */
  protected readonly concurrency: number;
  #slotFreed: (() => void) | undefined;
  /** Where commands and events that fail for good go (`deadLetterSink`), if anywhere. */
  readonly #deadLetters: DeadLetterSink | undefined;

  /**
   * @param component the class name users see, e.g. `"HttpConsumer"`.
   * @param transport the transport name put in `switchyard.receivedFrom`, e.g. `"http"`.
   * @param defaultConcurrency the adapter's default for `concurrency`.
   */
  constructor(
    component: string,
    transport: string,
    options: TransportConsumerOptions,
    defaultConcurrency: number,
  ) {
    this.concurrency = checkOption(
      component,
      'concurrency',
      options.concurrency,
      defaultConcurrency,
      'whole',
    );
    this.receiver = new MessageReceiver(transport, options);
    // Messages arrive from other processes: correlate what their handlers dispatch.
    enableHandlingScope();
    this.errors = new ErrorReporter(component, transport, options);
    this.lifecycle = new Lifecycle(component, options);
    const sink = checkDeadLetterSink(component, options.deadLetterSink);
    if (sink !== undefined && this.keepsDeadLetters) {
      throw new ConfigurationError(
        `${component} keeps its own dead letters (list, replay and purge them with its DeadLetters); deadLetterSink is for consumers that keep none`,
      );
    }
    this.#deadLetters =
      sink === undefined
        ? undefined
        : new DeadLetterSink(sink, this.errors, options.transportName ?? transport, transport);
  }

  /**
   * True for a consumer that keeps the messages that fail for good itself (a durable queue's failed
   * set): it refuses a `deadLetterSink`. Override to return true in such an adapter.
   */
  protected get keepsDeadLetters(): boolean {
    return false;
  }

  /** Binds or connects and starts consuming; resolves with the address it serves. Once; a second call gets the same promise. */
  start(): Promise<Address> {
    return this.lifecycle.start(() => this.open());
  }

  /**
   * Stops taking messages, lets those already taken finish (up to `closeTimeoutMs`), then releases
   * the transport. Once; a second call awaits the first.
   */
  close(): Promise<void> {
    return this.lifecycle.close({
      stopIntake: (deadline) => this.stopIntake(deadline),
      release: (drained, deadline) => this.release(drained, deadline),
    });
  }

  /** Messages being handled right now. */
  get inFlight(): number {
    return this.lifecycle.inFlight.size;
  }

  /** `new`, `starting`, `started`, `closing` or `closed`. */
  get state(): LifecycleState {
    return this.lifecycle.state;
  }

  /** The address `start()` resolved with, once it has. */
  get address(): Address | undefined {
    return this.lifecycle.address;
  }

  /** Binds, connects, subscribes: whatever starts the intake. */
  protected abstract open(): Promise<Address>;
  /** Stops taking new messages; those taken go on. `deadline`: the close's one deadline (ms since the epoch). */
  protected abstract stopIntake(deadline: number): void | Promise<void>;
  /**
   * Releases sockets and connections; `drained` is false when handlers still ran at the close's
   * `deadline` (ms since the epoch), by which whatever this step waits for must end.
   */
  protected abstract release(drained: boolean, deadline: number): Promise<void>;

  /**
   * Runs one delivery through the receive pipeline and reports a failure to `onError`/the logger,
   * with `detail` in its context (e.g. BullMQ's `job`). Never rejects. `signal`: the transport's
   * "the caller went away". Count the delivery with {@link track} around it and the reply, so a
   * closing consumer waits for both.
   */
  protected handle(
    data: WireData,
    signal?: AbortSignal,
    detail?: Readonly<Record<string, unknown>>,
  ): Promise<ReceiveResult> {
    return this.receiver.receive(data, signal).then((result) => {
      if (!result.ok) this.reportFailure(result, detail, data);
      return result;
    });
  }

  /** Counts a delivery in flight while `work` (receiving it, replying) runs; returns `work`. */
  protected track<T>(work: Promise<T>): Promise<T> {
    this.lifecycle.inFlight.enter();
    work.then(this.#leave, this.#leave);
    return work;
  }

  /**
   * Reports a failed delivery with its message id and name, and any transport `detail`; then, with a
   * `deadLetterSink`, hands a command or event that failed for good to it (counted in flight, so a
   * closing consumer waits for it). `envelope`: the bytes as received, so that input that could not
   * be decoded is kept too.
   */
  protected reportFailure(
    result: Extract<ReceiveResult, { ok: false }>,
    detail?: Readonly<Record<string, unknown>>,
    envelope?: WireData,
  ): void {
    const deadLetters = this.#deadLetters;
    const deadLetter = deadLetters?.wants(result, envelope) === true;
    this.errors.report(result.error, 'receive', {
      ...detail,
      messageId: result.message?.id,
      messageName: result.message?.name,
      failure: result.failure,
      ...(deadLetter ? { deadLetter: true } : {}),
    });
    if (deadLetter) this.track(deadLetters!.handOff(result, envelope, this.lifecycle.address));
  }

  /** `undefined` while fewer than `concurrency` messages are in flight, else a promise of a free slot. */
  protected slotFree(): Promise<void> | undefined {
    if (this.lifecycle.inFlight.size < this.concurrency) return undefined;
    return new Promise<void>((resolve) => {
      const previous = this.#slotFreed;
      this.#slotFreed = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** Wakes whoever waits in {@link slotFree} (e.g. a read loop at close). */
  protected wakeSlotWaiters(): void {
    const freed = this.#slotFreed;
    this.#slotFreed = undefined;
    freed?.();
  }

  readonly #leave = (): void => {
    this.lifecycle.inFlight.leave();
    if (this.#slotFreed !== undefined) this.wakeSlotWaiters();
  };
}
