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
  rule: 'positive' | 'non-negative' | 'whole' | 'count',
): number {
  const checked = value ?? fallback;
  const valid = typeof checked === 'number' && Number.isFinite(checked) && RULES[rule].test(checked);
  if (!valid) {
    throw new ConfigurationError(
      `${component}: ${option} must be ${RULES[rule].expected}, got ${String(checked)}`,
    );
  }
  return checked;
}

const RULES = {
  positive: { expected: 'a finite number > 0', test: (value: number) => value > 0 },
  'non-negative': { expected: 'a finite number >= 0', test: (value: number) => value >= 0 },
  whole: { expected: 'a whole number >= 1', test: (value: number) => Number.isInteger(value) && value >= 1 },
  count: { expected: 'a whole number >= 0', test: (value: number) => Number.isInteger(value) && value >= 0 },
} as const;
