import { describeError } from '../errors.ts';
/**
 * A pino-compatible logger (pino, bunyan-style or `console`-like): each method takes a context object
 * then a message. Switchyard logs every background failure at `error`, lifecycle steps at `debug`.
 */
export interface Logger {
  debug(context: object, message?: string): void;
  info(context: object, message?: string): void;
  warn(context: object, message?: string): void;
  error(context: object, message?: string): void;
}

/** Where and on what a background error happened; the second argument of every `onError`. */
export interface ErrorContext {
  /** The component that reports, e.g. `"HttpConsumer"`, `"BullMQProducer"`. */
  readonly component: string;
  /** The transport, e.g. `"http"`, `"bullmq"`. */
  readonly transport: string;
  /**
   * What was going on: `receive` (a message failed on the receiving side), `reply` (a reply could
   * not be sent or read), `connection` (the transport's connection or socket failed), `auth` (an
   * auth hook failed or refused), `close` (shutdown could not finish cleanly).
   */
  readonly stage: 'receive' | 'reply' | 'connection' | 'auth' | 'close';
  /** The message concerned, when there is one. */
  readonly messageId?: string | undefined;
  /** Its name, when known. */
  readonly messageName?: string | undefined;
  /** Transport-specific detail (e.g. `job` for BullMQ). */
  readonly [detail: string]: unknown;
}

/** The `onError` option every producer and consumer takes. */
export type ErrorHook = (error: unknown, context: ErrorContext) => void;

/** The options every producer and consumer takes for its background errors. */
export interface ErrorReportingOptions {
  /**
   * Called with every background failure and where it happened. A hook that throws is reported to
   * the logger and never takes the component down.
   * @default undefined — failures go to `logger`
   */
  readonly onError?: ErrorHook | undefined;
  /**
   * Receives every background failure (`error`) when there is no `onError` — identical connection
   * errors of a reconnect loop collapsed into the first and a count — and lifecycle events
   * (`debug`). Pass your pino logger.
   * @default a logger that writes errors to `console.error` and drops the rest
   */
  readonly logger?: Logger | undefined;
}

/**
 * The default logger: errors (and warnings) to the console, nothing else — so no failure goes
 * unseen. It prints the context's plain fields and the error, never whole objects an adapter put in
 * it (a BullMQ job, a socket): those stay for your own `onError`.
 */
export const consoleErrorLogger: Logger = Object.freeze({
  debug() {},
  info() {},
  warn(context: object, message?: string) {
    console.warn(`[switchyard] ${message ?? ''}`, summary(context));
  },
  error(context: object, message?: string) {
    console.error(`[switchyard] ${message ?? ''}`, summary(context));
  },
});

/** The context's string, number and boolean fields, plus `err`. */
function summary(context: object): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    if (
      key === 'err' ||
      typeof value === 'string' ||
      typeof value === 'number' ||
      typeof value === 'boolean'
    ) {
      plain[key] = value;
    }
  }
  return plain;
}

/**
 * The one place a producer or consumer sends a background error: to `onError` if given, else to the
 * logger. Never throws, never drops.
 */
export class ErrorReporter {
  readonly logger: Logger;
  readonly #onError: ErrorHook | undefined;
  readonly #component: string;
  readonly #transport: string;
  /** The last connection error logged, to collapse a reconnect loop's identical errors. */
  #lastConnection: { text: string; at: number; repeats: number } | undefined;

  constructor(component: string, transport: string, options: ErrorReportingOptions) {
    this.#component = component;
    this.#transport = transport;
    this.#onError = options.onError;
    this.logger = options.logger ?? consoleErrorLogger;
  }

  /** Reports `error` with where it happened. */
  report(
    error: unknown,
    stage: ErrorContext['stage'],
    detail?: Omit<ErrorContext, 'component' | 'transport' | 'stage'>,
  ): void {
    const context: ErrorContext = {
      component: this.#component,
      transport: this.#transport,
      stage,
      ...detail,
    };
    const hook = this.#onError;
    if (hook !== undefined) {
      try {
        hook(error, context);
        return;
      } catch (hookError) {
        this.#log({ ...context, err: hookError }, `${this.#component}: the onError hook threw`);
      }
    }
    const text = describeError(error);
    if (stage === 'connection' && this.#repeated(text)) return;
    this.#log({ ...context, err: error }, `${this.#component}: ${text}`);
  }

  /**
   * A client that reconnects in a loop reports the same error on every attempt: the logger gets the
   * first, then one line per minute saying how often it repeated. (`onError` gets every one.)
   */
  #repeated(text: string): boolean {
    const now = Date.now();
    const last = this.#lastConnection;
    if (last !== undefined && last.text === text && now - last.at < REPEAT_WINDOW_MS) {
      last.repeats++;
      return true;
    }
    if (last !== undefined && last.repeats > 0) {
      this.#log(
        {
          component: this.#component,
          transport: this.#transport,
          stage: 'connection',
          repeats: last.repeats,
        },
        `${this.#component}: "${last.text}" repeated ${last.repeats} more time(s)`,
      );
    }
    this.#lastConnection = { text, at: now, repeats: 0 };
    return false;
  }

  #log(context: object, message: string): void {
    try {
      this.logger.error(context, message);
    } catch {
      // A broken logger has nowhere left to report to.
    }
  }
}

/** How long identical connection errors are collapsed into one logged line. */
const REPEAT_WINDOW_MS = 60_000;
