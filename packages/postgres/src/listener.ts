import { TransportError } from '@switchyard/core';
import type pg from 'pg';
import { bounded } from './connection.ts';

/** What a {@link Listener} is doing. */
export type ListenerStatus = 'connecting' | 'ready' | 'closed';

/** What a {@link Listener} is told. */
export interface ListenerHooks {
  /** A notification on one of the channels. */
  readonly notify: (channel: string, payload: string) => void;
  /** The connection was lost (notifications may have been missed); it reconnects by itself. */
  readonly lost: (error: unknown) => void;
  /** (Re)connected and listening; anything missed while down should be looked for now. */
  readonly ready: () => void;
}

const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2_000;

/**
 * One connection, checked out of the pool for good, that `LISTEN`s on a fixed set of channels and
 * reconnects (100 ms, doubling up to 2 s) when it is lost — a restarted server, a
 * `pg_terminate_backend`. Shared by the producer (its reply channel) and the consumer (its queue's
 * wake-up and cancel channels).
 */
export class Listener {
  #status: ListenerStatus = 'connecting';
  #client: pg.PoolClient | undefined;
  #timer: NodeJS.Timeout | undefined;
  #delay = RECONNECT_MIN_MS;

  readonly #pool: pg.Pool;
  readonly #channels: readonly string[];
  readonly #timeoutMs: number;
  readonly #hooks: ListenerHooks;

  constructor(pool: pg.Pool, channels: readonly string[], timeoutMs: number, hooks: ListenerHooks) {
    this.#pool = pool;
    this.#channels = channels;
    this.#timeoutMs = timeoutMs;
    this.#hooks = hooks;
  }

  get status(): ListenerStatus {
    return this.#status;
  }

  /** Connects and listens; rejects with a `TransportError` when that fails within the timeout. */
  async open(): Promise<void> {
    await this.#connect();
  }

  async #connect(): Promise<void> {
    const client = await bounded(
      this.#pool.connect(),
      this.#timeoutMs,
      'could not connect to PostgreSQL to LISTEN',
    );
    if (this.#status === 'closed') {
      client.release();
      return;
    }
    const onNotification = (message: pg.Notification): void => {
      this.#hooks.notify(message.channel, message.payload ?? '');
    };
    const onError = (error: unknown): void => this.#lost(client, error);
    const onEnd = (): void => this.#lost(client, new TransportError('The LISTEN connection ended'));
    client.on('notification', onNotification);
    client.on('error', onError);
    client.on('end', onEnd);
    try {
      const sql = this.#channels.map((channel) => `LISTEN "${channel}";`).join(' ');
      await bounded(client.query(sql), this.#timeoutMs, 'could not LISTEN');
    } catch (error) {
      client.off('notification', onNotification);
      client.release(true);
      throw error;
    }
    this.#client = client;
    this.#status = 'ready';
    this.#delay = RECONNECT_MIN_MS;
    this.#hooks.ready();
  }

  #lost(client: pg.PoolClient, error: unknown): void {
    if (this.#client !== client || this.#status === 'closed') return;
    this.#client = undefined;
    this.#status = 'connecting';
    client.removeAllListeners('notification');
    try {
      client.release(error instanceof Error ? error : true);
    } catch {
      // Released already (the pool ended it).
    }
    this.#hooks.lost(error);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#status === 'closed') return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#connect().catch((error: unknown) => {
        if (this.#status === 'closed') return;
        this.#hooks.lost(error);
        this.#delay = Math.min(RECONNECT_MAX_MS, this.#delay * 2);
        this.#schedule();
      });
    }, this.#delay);
    this.#timer.unref();
  }

  /** Stops listening and gives the connection back (ended: it held LISTENs). */
  async close(): Promise<void> {
    this.#status = 'closed';
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const client = this.#client;
    this.#client = undefined;
    if (client === undefined) return;
    client.removeAllListeners('notification');
    try {
      await client.query('UNLISTEN *');
    } catch {
      // The connection is going away anyway.
    }
    client.release(true);
  }
}
