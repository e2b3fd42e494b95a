import { ConfigurationError } from '../errors.ts';

/**
 * What a subscriber of a topic declares: its group and the events it wants. Every transport that
 * fans out (BullMQ topics, PostgreSQL topics, ZeroMQ PUB/SUB) takes these two options with the
 * same meaning, checked by {@link checkSubscription}.
 */
export interface SubscriptionOptions {
  /**
   * The subscriber group. Each group gets every event once; the consumers of one group compete for
   * them (each event goes to one of them). Letters, digits and `._:-`, at most 100 characters.
   */
  readonly group: string;
  /**
   * The events this group receives: names (`'UserRegistered'`) or patterns where `*` stands for any
   * run of characters (`'User*'`, `'billing.*'`, `'*'`).
   * @default undefined — the events this process has handlers for (with `createSwitchyard`)
   */
  readonly events?: readonly string[] | undefined;
}

const GROUP = /^[A-Za-z0-9._:-]{1,100}$/;

/** Checks a subscription's group and event patterns; throws `ConfigurationError` naming the fault. */
export function checkSubscription(group: unknown, events: unknown): void {
  if (typeof group !== 'string' || !GROUP.test(group)) {
    throw new ConfigurationError(
      `A subscriber group is 1–100 letters, digits or ._:- characters, got ${JSON.stringify(group)}`,
    );
  }
  if (!Array.isArray(events) || events.length === 0) {
    throw new ConfigurationError(
      `The subscriber group "${group}" subscribes to no events: give events: ['Name', 'Prefix*'] or handle an event routed to the topic`,
    );
  }
  for (const pattern of events) {
    if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > 200) {
      throw new ConfigurationError(
        `The subscriber group "${group}" has an invalid event pattern ${JSON.stringify(pattern)}: a non-empty string of at most 200 characters`,
      );
    }
  }
}

/**
 * A predicate for event names from names and `*` patterns (see {@link SubscriptionOptions.events}).
 *
 * @example
 * const wanted = eventMatcher(['UserRegistered', 'Order*']);
 * wanted('OrderPlaced'); // true
 */
export function eventMatcher(patterns: readonly string[]): (name: string) => boolean {
  const exact = new Set<string>();
  const globs: RegExp[] = [];
  for (const pattern of patterns) {
    if (!pattern.includes('*')) exact.add(pattern);
    else globs.push(new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`, 's'));
  }
  if (globs.length === 0) return (name) => exact.has(name);
  return (name) => exact.has(name) || globs.some((glob) => glob.test(name));
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
