import {
  BackpressureError,
  type Deferred,
  fulfilledWithin,
  ProducerClosedError,
  TransportError,
} from '@switchyard/core';
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
  /** The send in progress: its frames (for a retry that waits for room) and its query, if any. */
  #frames: Frames | undefined;
  #query: Deferred<unknown> | undefined;
  /** The queued write being sent, settled when its send does; undefined for a fast-path write. */
  #job: Job | undefined;
  /** True while the send in progress is the retry that waits for room. */
  #waiting = false;
  /** Why the last `#start` failed at once (the socket threw instead of returning a promise). */
  #lastError: Error | undefined;

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
      // Fast path: nothing in progress, so nothing queued either; the caller gets the send's promise.
      const sending = this.#start(frames, query, undefined);
      if (sending === undefined) {
        const error = this.#lastError;
        this.#lastError = undefined;
        return Promise.reject(error);
      }
      return sending;
    }
    if (this.queued >= this.#options.maxQueued) {
      const error = new BackpressureError(
        `${this.#options.label}: ${this.#options.maxQueued} sends are already queued (maxQueuedSends)`,
      );
      query?.reject(error);
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ frames, query, resolve, reject });
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
      await fulfilledWithin(idle, timeoutMs);
    }
    this.#rejectQueued(new ProducerClosedError('The producer closed before the message was written'));
  }

  /**
   * Starts sending (the writer becomes busy). Returns the promise of the send, settled once the
   * write is done or failed — or undefined, with the writer idle again, when the socket threw at once
   * (the error is in `#lastError`, already passed to `query` and `job`).
   */
  #start(
    frames: Frames,
    query: Deferred<unknown> | undefined,
    job: Job | undefined,
  ): Promise<void> | undefined {
    this.#busy = true;
    this.#frames = frames;
    this.#query = query;
    this.#job = job;
    this.#waiting = false;
    let sending: Promise<void>;
    try {
      sending = this.#socket.send(frames);
    } catch (cause) {
      this.#busy = false;
      this.#frames = undefined;
      this.#query = undefined;
      this.#job = undefined;
      const error = this.#toError(cause);
      query?.reject(error);
      job?.reject(error);
      this.#lastError = error;
      return undefined;
    }
    return sending.then(this.#sent, this.#notSent);
  }

  /** The send in progress went out: settle its queued write, if any, and start the next. */
  readonly #sent = (): void => {
    const job = this.#job;
    this.#busy = false;
    this.#frames = undefined;
    this.#query = undefined;
    this.#job = undefined;
    job?.resolve();
    this.#next();
  };

  /**
   * The send in progress failed. No room (`EAGAIN`) on the first try: try once more with the send
   * timeout raised, so zeromq.js waits for the socket to become writable. Otherwise fail the write.
   */
  readonly #notSent = (cause: unknown): Promise<void> => {
    const waitMs = this.#options.sendTimeoutMs;
    if (!this.#waiting && waitMs !== 0 && !this.#closed && codeOf(cause) === 'EAGAIN') {
      this.#waiting = true;
      const socket = this.#socket;
      socket.sendTimeout = waitMs;
      let waiting: Promise<void>;
      try {
        waiting = socket.send(this.#frames!);
      } catch (error) {
        waiting = Promise.reject(error);
      } finally {
        socket.sendTimeout = 0;
      }
      return waiting.then(this.#sent, this.#notSent);
    }
    const error = this.#toError(cause);
    const query = this.#query;
    const job = this.#job;
    this.#busy = false;
    this.#frames = undefined;
    this.#query = undefined;
    this.#job = undefined;
    query?.reject(error);
    job?.reject(error);
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
      const sending = this.#start(job.frames, job.query, job);
      if (sending === undefined) {
        this.#lastError = undefined;
        continue;
      }
      // The job settles through #sent / #notSent; this promise only carries the same outcome.
      sending.catch(ignore);
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
    if (codeOf(cause) === 'EAGAIN' || this.#closed) this.#rejectQueued(error);
    this.#next();
  }

  #rejectQueued(error: unknown): void {
    const queue = this.#queue;
    const jobs = queue.slice(this.#head);
    queue.length = 0;
    this.#head = 0;
    for (const job of jobs) {
      if (job === undefined) continue;
      job.query?.reject(error);
      job.reject(error);
    }
  }

  #toError(cause: unknown): Error {
    if (this.#closed) {
      return new ProducerClosedError('The producer closed before the message was written');
    }
    if (codeOf(cause) === 'EAGAIN') {
      return new TransportError(
        `${this.#options.label}: the message could not be queued within ${this.#options.sendTimeoutMs} ms (high-water mark reached or no peer connected)`,
        { cause },
      );
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new TransportError(`${this.#options.label}: send failed: ${reason}`, { cause });
  }
}

function codeOf(cause: unknown): unknown {
  return (cause as { code?: unknown } | undefined)?.code;
}

function ignore(): void {}
