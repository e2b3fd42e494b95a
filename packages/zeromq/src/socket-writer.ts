import {
  BackpressureError,
  errorMessage,
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
  /**
   * Combines the writes queued behind the send in progress into one message, when they share a
   * batch key (see `write`).
   * @default undefined — every write is a message of its own
   */
  readonly coalesce?: Coalesce | undefined;
}

/** How a {@link SocketWriter} combines queued writes into one message. */
export interface Coalesce {
  /** Most writes in one combined message. */
  readonly maxCount: number;
  /** Most bytes in one combined message (strings counted at 3 bytes per character, the UTF-8 bound). */
  readonly maxBytes: number;
  /** The combined message of the frames of several writes with the same batch key, in order. */
  readonly combine: (writes: readonly Frames[]) => Frames;
}

interface Job {
  readonly frames: Frames;
  readonly signal: AbortSignal | undefined;
  readonly mayWait: boolean;
  /** Called as `job.resolve()` / `job.reject(error)` (a `post` job's reject reads `this`). */
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** Writes with the same key may share a message; `undefined` goes alone. */
  readonly batchKey: string | undefined;
  /** Bytes of its frames (upper bound), counted only for a write with a batch key. */
  readonly bytes: number;
  /** A `post`: where its failure goes, with its tag. */
  readonly onFailure: ((error: unknown, tag: unknown) => void) | undefined;
  readonly tag: unknown;
}

/** One shape for every job, so the queue's code stays monomorphic. */
function newJob(
  frames: Frames,
  signal: AbortSignal | undefined,
  mayWait: boolean,
  resolve: () => void,
  reject: (error: unknown) => void,
  batchKey: string | undefined,
  onFailure: ((error: unknown, tag: unknown) => void) | undefined,
  tag: unknown,
): Job {
  const bytes = batchKey === undefined ? 0 : bytesOf(frames);
  return { frames, signal, mayWait, resolve, reject, batchKey, bytes, onFailure, tag };
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
  /** The frames of the send in progress, for a retry that waits for room. */
  #frames: Frames | undefined;
  /** The queued write being sent, settled when its send does; undefined for a fast-path write. */
  #job: Job | undefined;
  /** True while the send in progress is the retry that waits for room. */
  #waiting = false;
  /** False when the send in progress gives up at once if the socket has no room. */
  #mayWait = true;
  /** Why the last `#start` failed at once (the socket threw instead of returning a promise). */
  #lastError: Error | undefined;
  /** True while a flush of the writes of this tick is scheduled (coalescing). */
  #flushing = false;

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
   * Sends `frames` once every earlier write is done. A write still waiting in the queue when its
   * `signal` fires (its caller stopped waiting: timeout, abort) is skipped and resolves without
   * sending. With `mayWait` false the write does not wait for room when its turn comes: no room,
   * and it fails at once, without holding up the writes behind it (for messages that are only
   * worth sending now, such as a cancel).
   *
   * With `coalesce` set, a write with a `batchKey` waits for the end of the tick (the microtasks
   * running now; `process.nextTick`), and the writes of that tick with the same key — or queued
   * behind a send in progress — go out together as one message. A write without one goes alone.
   */
  write(frames: Frames, signal?: AbortSignal, mayWait = true, batchKey?: string): Promise<void> {
    if (this.#closed) return Promise.reject(new ProducerClosedError());
    const coalesce = batchKey !== undefined && this.#options.coalesce !== undefined;
    if (!this.#busy && !coalesce && this.queued === 0) {
      // Fast path: nothing in progress, so nothing queued either; the caller gets the send's promise.
      const sending = this.#start(frames, undefined, mayWait);
      if (sending === undefined) {
        const error = this.#lastError;
        this.#lastError = undefined;
        return Promise.reject(error);
      }
      return sending;
    }
    if (this.queued >= this.#options.maxQueued) {
      return Promise.reject(
        new BackpressureError(
          `${this.#options.label}: ${this.#options.maxQueued} sends are already queued (maxQueuedSends)`,
        ),
      );
    }
    const queued = new Promise<void>((resolve, reject) => {
      const key = coalesce ? batchKey : undefined;
      this.#queue.push(newJob(frames, signal, mayWait, resolve, reject, key, undefined, undefined));
    });
    this.#scheduleFlush();
    return queued;
  }

  /**
   * {@link write} for a caller that does not wait for the outcome (a consumer's reply): no promise
   * and no callbacks per write; a failure — the same errors `write` rejects with — goes to
   * `onFailure(error, tag)`. Always may wait for room.
   */
  post(
    frames: Frames,
    batchKey: string | undefined,
    onFailure: (error: unknown, tag: unknown) => void,
    tag: unknown,
  ): void {
    if (this.#closed) {
      onFailure(new ProducerClosedError(), tag);
      return;
    }
    const coalesce = batchKey !== undefined && this.#options.coalesce !== undefined;
    const posted = newJob(
      frames,
      undefined,
      true,
      ignore,
      rejectPost,
      coalesce ? batchKey : undefined,
      onFailure,
      tag,
    );
    if (!this.#busy && !coalesce && this.queued === 0) {
      // Fast path, as in write: the job settles through #sent / #notSent (or at once, if the socket threw).
      const sending = this.#start(frames, posted, true);
      if (sending === undefined) this.#lastError = undefined;
      else sending.catch(ignore);
      return;
    }
    if (this.queued >= this.#options.maxQueued) {
      onFailure(
        new BackpressureError(
          `${this.#options.label}: ${this.#options.maxQueued} sends are already queued (maxQueuedSends)`,
        ),
        tag,
      );
      return;
    }
    this.#queue.push(posted);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (!this.#busy && !this.#flushing) {
      this.#flushing = true;
      process.nextTick(this.#flush);
    }
  }

  /** End of the tick: start sending what queued up, unless a send already runs (it goes on from there). */
  readonly #flush = (): void => {
    this.#flushing = false;
    if (!this.#busy) this.#next();
  };

  /**
   * Refuses new writes and lets the queued ones reach the socket, for up to `timeoutMs` — unless the
   * send in progress is waiting for room, so nothing behind it can move: then at once. Whatever is
   * left rejects with `ProducerClosedError`; so does the send in progress when its socket closes.
   */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    if ((this.#busy || this.#flushing) && !this.#waiting && timeoutMs > 0) {
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
   * (the error is in `#lastError`, already passed to `job`).
   */
  #start(frames: Frames, job: Job | undefined, mayWait: boolean): Promise<void> | undefined {
    this.#busy = true;
    this.#frames = frames;
    this.#job = job;
    this.#waiting = false;
    this.#mayWait = mayWait;
    let sending: Promise<void>;
    try {
      sending = this.#socket.send(frames);
    } catch (cause) {
      this.#busy = false;
      this.#frames = undefined;
      this.#job = undefined;
      const error = this.#toError(cause);
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
    if (!this.#waiting && waitMs !== 0 && this.#mayWait && !this.#closed && codeOf(cause) === 'EAGAIN') {
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
    const job = this.#job;
    this.#busy = false;
    this.#frames = undefined;
    this.#job = undefined;
    job?.reject(error);
    this.#afterFailure(cause, error);
    throw error;
  };

  #next(): void {
    const queue = this.#queue;
    while (this.#head < queue.length) {
      const job = queue[this.#head]!;
      queue[this.#head++] = undefined;
      if (job.signal?.aborted === true) {
        job.resolve();
        continue;
      }
      const batch = job.batchKey !== undefined && job.mayWait ? this.#batchAfter(job) : undefined;
      const sending =
        batch === undefined
          ? this.#start(job.frames, job, job.mayWait)
          : this.#start(this.#options.coalesce!.combine(batch.map(framesOf)), settleAll(batch), true);
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

  /**
   * The writes queued right behind `first` that may share its message (same batch key, may wait,
   * within the count and byte bounds), taken off the queue; writes whose caller stopped waiting are
   * skipped as in {@link #next}. `undefined` when `first` goes alone.
   */
  #batchAfter(first: Job): Job[] | undefined {
    const { maxCount, maxBytes } = this.#options.coalesce!;
    const queue = this.#queue;
    let batch: Job[] | undefined;
    let bytes = first.bytes;
    while (this.#head < queue.length && (batch?.length ?? 1) < maxCount) {
      const job = queue[this.#head]!;
      if (job.signal?.aborted === true) {
        queue[this.#head++] = undefined;
        job.resolve();
        continue;
      }
      if (job.batchKey !== first.batchKey || !job.mayWait || bytes + job.bytes > maxBytes) break;
      queue[this.#head++] = undefined;
      bytes += job.bytes;
      batch ??= [first];
      batch.push(job);
    }
    return batch;
  }

  #afterFailure(cause: unknown, error: unknown): void {
    // A timed-out or closed socket cannot take the writes queued behind either: fail them now. (A
    // write that would not wait only says the socket had no room this instant.)
    if (this.#closed || (codeOf(cause) === 'EAGAIN' && this.#mayWait)) this.#rejectQueued(error);
    this.#next();
  }

  #rejectQueued(error: unknown): void {
    const queue = this.#queue;
    const jobs = queue.slice(this.#head);
    queue.length = 0;
    this.#head = 0;
    for (const job of jobs) {
      if (job === undefined) continue;
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
    const reason = errorMessage(cause);
    return new TransportError(`${this.#options.label}: send failed: ${reason}`, { cause });
  }
}

function codeOf(cause: unknown): unknown {
  return (cause as { code?: unknown } | undefined)?.code;
}

function ignore(): void {}

function framesOf(job: Job): Frames {
  return job.frames;
}

/** One job standing for several written as one message: it settles them all. */
function settleAll(batch: readonly Job[]): Job {
  return newJob(
    [],
    undefined,
    true,
    () => {
      for (const each of batch) each.resolve();
    },
    (error: unknown) => {
      for (const each of batch) each.reject(error);
    },
    undefined,
    undefined,
    undefined,
  );
}

/** The `reject` of a {@link SocketWriter.post} job: its failure goes to its `onFailure`. */
function rejectPost(this: Job, error: unknown): void {
  this.onFailure!(error, this.tag);
}

/** An upper bound of the bytes of `frames`: strings at 3 bytes per UTF-16 unit. */
function bytesOf(frames: Frames): number {
  if (!Array.isArray(frames)) return sizeOf(frames);
  let bytes = 0;
  for (const frame of frames) bytes += sizeOf(frame);
  return bytes;
}

function sizeOf(frame: unknown): number {
  if (typeof frame === 'string') return frame.length * 3;
  if (ArrayBuffer.isView(frame)) return frame.byteLength;
  if (frame instanceof ArrayBuffer) return frame.byteLength;
  return 8; // a number or null frame
}
