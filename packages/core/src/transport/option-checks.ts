import { ConfigurationError } from '../errors.ts';

/**
 * Checks a numeric option every producer and consumer validates the same way; returns it, or throws
 * `ConfigurationError` naming the component and option. `undefined` gives `fallback` (the default).
 *
 * @example
 * this.#bodyLimit = checkOption('HttpConsumer', 'maxMessageBytes', options.maxMessageBytes, 1_048_576, 'positive');
 */
export function checkOption(
  component: string,
  option: string,
  value: number | undefined,
  fallback: number,
  rule: 'positive' | 'non-negative' | 'whole',
): number {
  const checked = value ?? fallback;
  const valid =
    typeof checked === 'number' &&
    Number.isFinite(checked) &&
    (rule === 'positive'
      ? checked > 0
      : rule === 'non-negative'
        ? checked >= 0
        : Number.isInteger(checked) && checked >= 1);
  if (!valid) {
    const expected =
      rule === 'positive'
        ? 'a finite number > 0'
        : rule === 'non-negative'
          ? 'a finite number >= 0'
          : 'a whole number >= 1';
    throw new ConfigurationError(`${component}: ${option} must be ${expected}, got ${String(checked)}`);
  }
  return checked;
}
