import { MessageReceiver, type ReceiverOptions } from '../transport/message-receiver.ts';
import type { InMemoryChannel, InMemoryDelivery } from './in-memory-channel.ts';

/** Options of the {@link InMemoryConsumer}. */
export interface InMemoryConsumerOptions extends ReceiverOptions {
  /** The channel to listen on. */
  readonly channel: InMemoryChannel;
  /**
   * Called with every message that failed (decode, validation, handler). Queries also get an error
   * reply; commands and events have no one else to tell.
   * @default undefined — failures are dropped after the reply
   */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/**
 * Receives from an {@link InMemoryChannel} and dispatches into local buses. Starts listening on
 * construction; `close()` stops taking messages and waits for those in flight.
 */
export class InMemoryConsumer {
  readonly #receiver: MessageReceiver;
  readonly #onError: ((error: unknown) => void) | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #stop: (() => void) | undefined;

  constructor(options: InMemoryConsumerOptions) {
    this.#receiver = new MessageReceiver('in-memory', options);
    this.#onError = options.onError;
    this.#stop = options.channel.listen({ deliver: (delivery) => this.#accept(delivery) });
  }

  /** Messages being handled right now. */
  get inFlight(): number {
    return this.#inFlight.size;
  }

  /** Stops listening, then waits until every message already taken is handled. */
  async close(): Promise<void> {
    this.#stop?.();
    this.#stop = undefined;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #accept(delivery: InMemoryDelivery): void {
    const work = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#handle(delivery));
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }

  async #handle(delivery: InMemoryDelivery): Promise<void> {
    const result = await this.#receiver.receive(delivery.data);
    if (delivery.reply !== undefined && result.reply !== undefined) {
      delivery.reply(this.#receiver.encodeReply(result.reply));
    }
    if (!result.ok) reportSafely(this.#onError, result.error);
  }
}

function reportSafely(onError: ((error: unknown) => void) | undefined, error: unknown): void {
  try {
    onError?.(error);
  } catch {
    // A failing error hook must not take the consumer down.
  }
}
