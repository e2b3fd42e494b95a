import { BackpressureError, type Deferred, ProducerClosedError, TransportError } from '@switchyard/core';
import type { MessageLike } from 'zeromq';

/** What a writer sends: one frame or a multipart message. */
export type Frames = MessageLike | MessageLike[];

/** The part of a zeromq.js socket the writer needs. */
export interface SendingSocket {
  send(message: Frames): Promise<void>;
  /** ZMQ_SNDTIMEO; the writer keeps it at 0 and raises it only while it waits for room. */
  sendTimeout: number;
}

/** Options of the {@link SocketWriter}. */
export interface SocketWriterOptions {
  /** Sends waiting behind the one in progress before `write` rejects with `BackpressureError`. */
  readonly maxQueued: number;
  /**
   * How long a send may wait for room on the socket (high-water mark reached, or no peer with
   * `immediate`) before it fails; `0` fails at once, `-1` waits for ever.
   */
  readonly sendTimeoutMs: number;
  /** Names the socket in error messages, e.g. `"command socket tcp://host:5555"`. */
  readonly label: string;
}

interface Job {
  readonly frames: Frames;
  readonly query: Deferred<unknown> | undefined;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The one writer of a socket. zeromq.js allows a single send in progress per socket (a second one
 * fails with EBUSY), so concurrent writes wait here, in order, in a bounded queue. A write resolves
 * when ZeroMQ queued the message on the socket; it rejects with `BackpressureError` when the queue is
 * full, and with `TransportError` when the socket could not take the message within its send timeout
 * (high-water mark reached, or no peer) — then every write waiting behind it fails too, instead of
 * each waiting its own timeout in turn.
 *
 * Sends are tried without waiting first (the socket's ZMQ_SNDTIMEO is 0): zeromq.js then hands the
 * message to libzmq at once, skipping the readiness check (a `ZMQ_EVENTS` query, often a system call)
 * that it makes before every send with a timeout. Only a send that finds no room (`EAGAIN`) is tried
 * again with the configured timeout, which makes zeromq.js wait for the socket to become writable.
 */
export class SocketWriter {
  readonly #socket: SendingSocket;
  readonly #options: SocketWriterOptions;
  readonly #queue: (Job | undefined)[] = [];
  #head = 0;
  #busy = false;
  #closed = false;
  #whenIdle: (() => void) | undefined;

  constructor(socket: SendingSocket, options: SocketWriterOptions) {
    this.#socket = socket;
    this.#options = options;
    socket.sendTimeout = 0;
  }

  /** Writes waiting behind the one in progress. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /**
   * Sends `frames` once every earlier write is done. With `query` (the deferred of the query being
   * sent), a write still waiting when it settles (timed out, aborted) is skipped and resolves without
   * sending, and a write that fails rejects the query with the same error.
   */
  write(frames: Frames, query?: Deferred<unknown>): Promise<void> {
    if (this.#closed) return Promise.reject(new ProducerClosedError());
    if (!this.#busy) {
      // Fast path: nothing in progress, so nothing queued either.
      this.#busy = true;
      let sending: Promise<void>;
      try {
        sending = this.#send(frames);
      } catch (cause) {
        this.#busy = false;
        const error = this.#toError(cause);
        query?.reject(error);
        return Promise.reject(error);
      }
      return query === undefined
        ? sending.then(this.#sent, this.#failedFast)
        : sending.then(this.#sent, (cause: unknown) => {
            try {
              this.#failedFast(cause);
            } catch (error) {
              query.reject(error);
              throw error;
            }
          });
    }
    if (this.queued >= this.#options.maxQueued) {
      const error = new BackpressureError(
        `${this.#options.label}: ${this.#options.maxQueued} sends are already queued (maxQueuedSends)`,
      );
      query?.reject(error);
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({
        frames,
        query,
        resolve,
        reject:
          query === undefined
            ? reject
            : (error: unknown) => {
                query.reject(error);
                reject(error);
              },
      });
    });
  }

  /**
   * Refuses new writes, waits up to `timeoutMs` for the queued ones to be handed to the socket, then
   * rejects whatever is left with `ProducerClosedError`.
   */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    if (this.#busy) {
      const idle = new Promise<void>((resolve) => {
        this.#whenIdle = resolve;
      });
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      });
      await Promise.race([idle, expired]);
      clearTimeout(timer);
    }
    this.#rejectQueued(new ProducerClosedError('The producer closed before the message was written'));
  }

  /**
   * Hands `frames` to the socket without waiting; if there is no room and the options allow a wait,
   * tries once more with the send timeout raised, so zeromq.js polls until the socket is writable.
   */
  #send(frames: Frames): Promise<void> {
    const socket = this.#socket;
    const sending = socket.send(frames);
    const waitMs = this.#options.sendTimeoutMs;
    if (waitMs === 0) return sending;
    return sending.then(undefined, (cause: unknown) => {
      if ((cause as { code?: unknown } | undefined)?.code !== 'EAGAIN' || this.#closed) throw cause;
      socket.sendTimeout = waitMs;
      const waiting = socket.send(frames);
      socket.sendTimeout = 0;
      return waiting;
    });
  }

  readonly #sent = (): void => {
    this.#busy = false;
    this.#next();
  };

  readonly #failedFast = (cause: unknown): never => {
    const error = this.#toError(cause);
    this.#busy = false;
    this.#afterFailure(cause, error);
    throw error;
  };

  #next(): void {
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const job = queue[this.#head]!;
      queue[this.#head++] = undefined;
      if (job.query?.settled === true) {
        job.resolve();
        continue;
      }
      this.#busy = true;
      let sending: Promise<void>;
      try {
        sending = this.#send(job.frames);
      } catch (cause) {
        this.#busy = false;
        job.reject(this.#toError(cause));
        continue;
      }
      sending.then(
        () => {
          job.resolve();
          this.#sent();
        },
        (cause: unknown) => {
          const error = this.#toError(cause);
          job.reject(error);
          this.#busy = false;
          this.#afterFailure(cause, error);
        },
      );
      return;
    }
    queue.length = 0;
    this.#head = 0;
    const idle = this.#whenIdle;
    this.#whenIdle = undefined;
    idle?.();
  }

  #afterFailure(cause: unknown, error: unknown): void {
    // A timed-out or closed socket cannot take the writes queued behind either: fail them now.
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (code === 'EAGAIN' || this.#closed) this.#rejectQueued(error);
    this.#next();
  }

  #rejectQueued(error: unknown): void {
    const queue = this.#queue;
    const jobs = queue.slice(this.#head);
    queue.length = 0;
    this.#head = 0;
    for (const job of jobs) job?.reject(error);
  }

  #toError(cause: unknown): Error {
    if (this.#closed) {
      return new ProducerClosedError('The producer closed before the message was written');
    }
    const code = (cause as { code?: unknown } | undefined)?.code;
    if (code === 'EAGAIN') {
      return new TransportError(
        `${this.#options.label}: the message could not be queued within ${this.#options.sendTimeoutMs} ms (high-water mark reached or no peer connected)`,
        { cause },
      );
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new TransportError(`${this.#options.label}: send failed: ${reason}`, { cause });
  }
}
