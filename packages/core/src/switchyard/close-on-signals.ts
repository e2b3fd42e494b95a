import { checkOption } from '../transport/option-checks.ts';

/** Options of {@link closeOnSignals}. */
export interface CloseOnSignalsOptions {
  /** The signals that start the shutdown. @default ['SIGTERM', 'SIGINT'] */
  readonly signals?: readonly NodeJS.Signals[] | undefined;
  /**
   * The bound of the whole shutdown: when `close()` has not finished by then, the process exits
   * anyway (with code 1). Keep it below your orchestrator's grace period (Kubernetes: 30 s).
   * @default 10_000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Exit the process when done: code 0 after a clean close, 1 after a failed or timed-out one. With
   * `false`, only `process.exitCode` is set and your own shutdown code runs on.
   * @default true
   */
  readonly exit?: boolean | undefined;
  /** Told how the shutdown went (for your logs). @default logs to console.error on failure */
  readonly onClosed?:
    | ((outcome: { readonly signal: NodeJS.Signals; readonly error?: unknown }) => void)
    | undefined;
}

/**
 * Closes `target` (a Switchyard, or anything with `close()`) when the process gets SIGTERM or
 * SIGINT, within a bound: consumers stop taking messages and finish the ones in flight, producers
 * flush, then the process exits. Opt-in: call it once in your entry point. Returns a function that
 * removes the signal handlers.
 *
 * @example
 * const app = createSwitchyard({ … });
 * await app.start();
 * closeOnSignals(app, { timeoutMs: 10_000 });
 */
export function closeOnSignals(
  target: { close(): Promise<void> },
  options: CloseOnSignalsOptions = {},
): () => void {
  const timeoutMs = checkOption('closeOnSignals', 'timeoutMs', options.timeoutMs, 10_000, 'positive');
  const signals = options.signals ?? ['SIGTERM', 'SIGINT'];
  const exit = options.exit !== false;
  const report = options.onClosed ?? defaultReport;
  let closing = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (closing) return;
    closing = true;
    remove();
    let timer: NodeJS.Timeout | undefined;
    const finish = (error: unknown): void => {
      clearTimeout(timer);
      process.exitCode = error === undefined ? 0 : 1;
      try {
        report(error === undefined ? { signal } : { signal, error });
      } finally {
        if (exit) process.exit();
      }
    };
    const bound = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`close() did not finish within ${timeoutMs} ms of ${signal}`)),
        timeoutMs,
      );
    });
    Promise.race([target.close(), bound]).then(
      () => finish(undefined),
      (error: unknown) => finish(error),
    );
  };
  const remove = (): void => {
    for (const signal of signals) process.off(signal, onSignal);
  };
  for (const signal of signals) process.on(signal, onSignal);
  return remove;
}

function defaultReport(outcome: { readonly signal: NodeJS.Signals; readonly error?: unknown }): void {
  if (outcome.error !== undefined) {
    console.error(`switchyard: shutdown after ${outcome.signal} failed:`, outcome.error);
  }
}
