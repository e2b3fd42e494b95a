import { ProducerClosedError } from '../errors.ts';
import type { AnyMessage } from '../message.ts';
import { TransportConsumer, type TransportConsumerOptions } from '../transport/transport-consumer.ts';
import type { InMemoryChannel, InMemoryDelivery } from './in-memory-channel.ts';

/** Options of the {@link InMemoryConsumer}. */
export interface InMemoryConsumerOptions extends TransportConsumerOptions {
  /** The channel to listen on. */
  readonly channel: InMemoryChannel;
}

/**
 * Receives from an {@link InMemoryChannel} and dispatches into local buses. `start()` attaches it to
 * the channel; `close()` detaches it and lets the messages it already took finish (up to
 * `closeTimeoutMs`). Default `concurrency`: 1_000 (more wait in order).
 */
export class InMemoryConsumer extends TransportConsumer<string> {
  readonly #channel: InMemoryChannel;
  readonly #backlog: InMemoryDelivery[] = [];
  #running = 0;
  #detach: (() => void) | undefined;

  constructor(options: InMemoryConsumerOptions) {
    super('InMemoryConsumer', 'in-memory', options, 1_000);
    this.#channel = options.channel;
  }

  protected async open(): Promise<string> {
    this.#detach = this.#channel.listen({ deliver: (delivery) => this.#accept(delivery) });
    return 'in-memory';
  }

  protected stopIntake(): void {
    this.#detach?.();
    this.#detach = undefined;
  }

  protected async release(): Promise<void> {
    // Whatever is still waiting for a slot after closeTimeoutMs will not run: say so.
    for (const delivery of this.#backlog.splice(0)) {
      const error = new ProducerClosedError('The in-memory consumer closed before handling the message');
      let message: AnyMessage | undefined;
      try {
        message = this.receiver.codec.decode(delivery.data);
      } catch {
        message = undefined;
      }
      const result = this.receiver.failed(error, message);
      if (!result.ok) this.reportFailure(result);
      if (delivery.reply !== undefined && result.reply !== undefined) {
        delivery.reply(this.receiver.encodeReply(result.reply));
      }
      this.lifecycle.inFlight.leave();
    }
  }

  #accept(delivery: InMemoryDelivery): void {
    this.lifecycle.inFlight.enter();
    this.#backlog.push(delivery);
    this.#pump();
  }

  #pump(): void {
    while (this.#running < this.concurrency && this.#backlog.length > 0) {
      const delivery = this.#backlog.shift()!;
      this.#running++;
      // Never run the handler inside the producer's call stack.
      setImmediate(() => void this.#run(delivery));
    }
  }

  async #run(delivery: InMemoryDelivery): Promise<void> {
    const result = await this.handle(delivery.data, delivery.signal);
    if (delivery.reply !== undefined && result.reply !== undefined) {
      delivery.reply(this.receiver.encodeReply(result.reply));
    }
    this.#running--;
    this.lifecycle.inFlight.leave();
    this.#pump();
  }
}
