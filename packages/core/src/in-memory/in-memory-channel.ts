import type { WireData } from '../codec/message-codec.ts';

/** What a consumer attached to a channel receives: encoded data, and where to send a reply. */
export interface InMemoryDelivery {
  readonly data: WireData;
  /** Present for queries: sends the encoded reply back to the producer. */
  readonly reply: ((data: WireData) => void) | undefined;
  /** Fires when the caller stops waiting (timeout, abort); the handler's signal fires with it. */
  readonly signal: AbortSignal | undefined;
}

/** The consumer side of a channel. */
export interface InMemoryEndpoint {
  deliver(delivery: InMemoryDelivery): void;
}

/**
 * An in-process "wire" between in-memory producers and consumers. Messages cross it encoded, so the
 * envelope round trip is exactly what a real transport does; consumers take turns (round robin),
 * like competing workers on a queue.
 */
export class InMemoryChannel {
  readonly #endpoints: InMemoryEndpoint[] = [];
  #next = 0;

  /** Number of consumers listening. */
  get consumers(): number {
    return this.#endpoints.length;
  }

  /** Adds a consumer; returns a function that removes it. */
  listen(endpoint: InMemoryEndpoint): () => void {
    this.#endpoints.push(endpoint);
    return () => {
      const index = this.#endpoints.indexOf(endpoint);
      if (index >= 0) this.#endpoints.splice(index, 1);
    };
  }

  /** Hands a delivery to the next consumer; returns false when none listens. */
  send(delivery: InMemoryDelivery): boolean {
    const count = this.#endpoints.length;
    if (count === 0) return false;
    const endpoint = this.#endpoints[this.#next++ % count]!;
    endpoint.deliver(delivery);
    return true;
  }
}
