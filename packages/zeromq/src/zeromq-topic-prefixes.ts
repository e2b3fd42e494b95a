/**
 * The ZeroMQ subscription prefixes for a subscriber's `events`: an exact name subscribes to itself
 * (ZeroMQ matches prefixes, so the subscriber still checks the name exactly), a pattern to the
 * literal text before its first `*` (`'billing.*'` → `'billing.'`, `'*'` → everything). Prefixes
 * another prefix already covers are left out.
 *
 * @example
 * subscriptionPrefixes(['OrderPlaced', 'Order*', 'billing.*.sent']); // ['Order', 'billing.']
 */
export function subscriptionPrefixes(events: readonly string[]): string[] {
  const prefixes = [
    ...new Set(
      events.map((pattern) => (pattern.includes('*') ? pattern.slice(0, pattern.indexOf('*')) : pattern)),
    ),
  ].sort((a, b) => a.length - b.length);
  const kept: string[] = [];
  for (const prefix of prefixes) {
    if (!kept.some((shorter) => prefix.startsWith(shorter))) kept.push(prefix);
  }
  return kept;
}
