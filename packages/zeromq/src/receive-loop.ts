/** The part of a zeromq.js socket a {@link ReceiveLoop} reads. */
export interface ReceivingSocket {
  readonly closed: boolean;
  receive(): Promise<Buffer[]>;
}

/** What a {@link ReceiveLoop} does with what it reads. */
export interface ReceiveLoopHandlers {
  /**
   * Handles one multipart message. A returned promise is awaited before the next receive (a
   * consumer waiting for a free slot, a socket that answers in turn). Must not throw; if it does, or
   * its promise rejects, the failure goes to `onFailure` and the loop goes on.
   */
  readonly onMessage: (frames: Buffer[]) => Promise<void> | undefined;
  /** Called when receiving failed on an open socket; the loop starts again after `restartDelayMs`. */
  readonly onFailure: (error: unknown) => void;
}

/** Pause before receiving again after a failed receive, so a failure that persists cannot spin. */
export const RESTART_DELAY_MS = 100;

/**
 * Reads a socket until it closes — one receive at a time, as zeromq.js requires — and never dies
 * silently: a failed receive on a socket that is still open is handed to `onFailure` and the loop
 * starts again. It also knows when its socket has gone quiet ({@link idle}), which is how a closing
 * consumer tells that it has read everything the transport had already handed it.
 */
export class ReceiveLoop {
  /** Resolves when the loop has ended (its socket closed, or it was stopped). Never rejects. */
  readonly done: Promise<void>;
  readonly #socket: ReceivingSocket;
  readonly #handlers: ReceiveLoopHandlers;
  /** Receives started so far; with {@link #receiving}, tells one long wait from many short ones. */
  #receives = 0;
  #receiving = false;
  #stopped = false;

  constructor(socket: ReceivingSocket, handlers: ReceiveLoopHandlers) {
    this.#socket = socket;
    this.#handlers = handlers;
    this.done = this.#run();
  }

  /**
   * Ends the loop without another receive. Returns true when it was not waiting in a receive (it was
   * handling a message or waiting for its `onMessage` promise): the caller may then read the socket
   * itself. A loop waiting in a receive ends when its socket closes.
   */
  stop(): boolean {
    this.#stopped = true;
    return !this.#receiving;
  }

  /**
   * Resolves true once the loop has waited in one receive for `quietMs` (the socket had nothing
   * more to give), or has ended; false if `deadline` (ms since the epoch) came first.
   */
  async idle(quietMs: number, deadline: number): Promise<boolean> {
    let waitingIn = -1;
    let since = 0;
    for (;;) {
      if (this.#stopped || this.#socket.closed) return true;
      const now = Date.now();
      const current = this.#receiving ? this.#receives : -1;
      if (current === -1 || current !== waitingIn) {
        waitingIn = current;
        since = now;
      } else if (now - since >= quietMs) {
        return true;
      }
      const left = deadline - now;
      if (left <= 0) return false;
      await sleep(Math.min(quietMs - (now - since), left));
    }
  }

  async #run(): Promise<void> {
    const socket = this.#socket;
    const { onMessage, onFailure } = this.#handlers;
    while (!this.#stopped && !socket.closed) {
      let frames: Buffer[];
      this.#receives++;
      this.#receiving = true;
      try {
        frames = await socket.receive();
      } catch (error) {
        this.#receiving = false;
        if (socket.closed || this.#stopped) return;
        report(onFailure, error);
        await sleep(RESTART_DELAY_MS);
        continue;
      }
      this.#receiving = false;
      try {
        const pending = onMessage(frames);
        if (pending !== undefined) await pending;
      } catch (error) {
        report(onFailure, error);
      }
    }
  }
}

function report(onFailure: (error: unknown) => void, error: unknown): void {
  try {
    onFailure(error);
  } catch {
    // The failure hook reports through an ErrorReporter, which never throws; nothing left to tell.
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
