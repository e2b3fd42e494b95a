import type { Dealer } from 'zeromq';

/** How a wait for a connected peer ended. */
export type PeerWait = 'connected' | 'timeout' | 'aborted' | 'closed';

interface Waiter {
  readonly settle: (outcome: PeerWait) => void;
}

/**
 * The endpoints of a connecting socket that have a connection which completed its handshake, read
 * from the socket's monitor events — so that a send can wait (bounded) for a consumer without
 * ZMQ_IMMEDIATE. The producer's Dealer needs this: with ZMQ_IMMEDIATE, libzmq discards the replies
 * still unread on a connection that closes, so the last replies of a consumer that shuts down
 * gracefully would be lost.
 */
export class ConnectedPeers {
  readonly #connected = new Set<string>();
  readonly #waiters = new Set<Waiter>();

  /** Starts watching; call before the socket connects, so no handshake is missed. */
  constructor(socket: Dealer) {
    const events = socket.events;
    events.on('handshake', ({ address }) => {
      this.#connected.add(address);
      this.#settleAll('connected');
    });
    events.on('disconnect', ({ address }) => {
      this.#connected.delete(address);
    });
  }

  /** True while at least one peer is connected. */
  get any(): boolean {
    return this.#connected.size > 0;
  }

  /** Sends waiting for a peer right now. */
  get waiting(): number {
    return this.#waiters.size;
  }

  /**
   * Resolves `connected` as soon as a peer is (at once if one is), `timeout` after `timeoutMs`
   * (`-1`: never), `aborted` when `signal` fires, `closed` on {@link close}.
   */
  whenAny(timeoutMs: number, signal: AbortSignal | undefined): Promise<PeerWait> {
    if (this.any) return Promise.resolve('connected');
    if (signal?.aborted === true) return Promise.resolve('aborted');
    if (timeoutMs === 0) return Promise.resolve('timeout');
    return new Promise<PeerWait>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = (): void => waiter.settle('aborted');
      const waiter: Waiter = {
        settle: (outcome) => {
          if (!this.#waiters.delete(waiter)) return;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve(outcome);
        },
      };
      this.#waiters.add(waiter);
      if (timeoutMs > 0) timer = setTimeout(() => waiter.settle('timeout'), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends every wait with `closed`. */
  close(): void {
    this.#settleAll('closed');
  }

  #settleAll(outcome: PeerWait): void {
    for (const waiter of [...this.#waiters]) waiter.settle(outcome);
  }
}
