import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares two secrets in constant time, also when their lengths differ: both sides are hashed to
 * fixed-size SHA-256 digests first, so neither the content nor the length of the expected value
 * shows in the timing.
 */
export function constantTimeEqual(actual: string | Uint8Array, expected: string | Uint8Array): boolean {
  const a = createHash('sha256').update(actual).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}
