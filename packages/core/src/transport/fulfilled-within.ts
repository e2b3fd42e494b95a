/**
 * Waits for `promise` at most `timeoutMs`: true if it fulfilled in time, false if it rejected or the
 * time ran out (its later outcome is ignored). The timer is cleared either way, so a quick close never
 * keeps the process alive. Every graceful close uses it to wait for work in flight.
 *
 * @example
 * const drained = await fulfilledWithin(new Promise<void>((resolve) => { this.#idle = resolve; }), 10_000);
 */
export function fulfilledWithin(promise: Promise<unknown>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const fulfilled = promise.then(
    () => true,
    () => false,
  );
  return Promise.race([fulfilled, expired]).finally(() => clearTimeout(timer));
}
