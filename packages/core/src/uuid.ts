import { randomFillSync } from 'node:crypto';

/**
 * Random bytes for this many UUIDs (32 KiB) are drawn from the OS CSPRNG at once. Node's randomUUID
 * pools 128; a bigger pool spreads the per-call cost of `randomFillSync` (~56 instructions per id
 * less than 256).
 */
const POOLED_IDS = 2048;
const pool = new Uint8Array(16 * POOLED_IDS);
let offset = pool.length;

/** ASCII codes of the two lowercase hex digits of each byte: `HEX[2 * b]`, `HEX[2 * b + 1]`. */
const HEX = new Uint8Array(512);
for (let byte = 0; byte < 256; byte++) {
  const digits = byte.toString(16).padStart(2, '0');
  HEX[2 * byte] = digits.charCodeAt(0);
  HEX[2 * byte + 1] = digits.charCodeAt(1);
}
const DASH = 0x2d;
const char = String.fromCharCode;

/**
 * A random RFC 4122 version 4 UUID, lowercase (`xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`).
 *
 * Same source and guarantees as `crypto.randomUUID()` — 122 bits from the OS CSPRNG
 * (`randomFillSync` over a pooled buffer, as Node pools it) with the version and variant bits set —
 * but returned as one flat string: `randomUUID()` concatenates its id from 20 pieces into a rope,
 * which costs an allocation per piece and is flattened again by the first `JSON.stringify` or map
 * lookup. This formatter builds the 36 characters in one `String.fromCharCode` call.
 */
export function randomUuid(): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = pool;
  const o = offset;
  offset = o + 16;
  const h = HEX;
  const b0 = b[o]! << 1;
  const b1 = b[o + 1]! << 1;
  const b2 = b[o + 2]! << 1;
  const b3 = b[o + 3]! << 1;
  const b4 = b[o + 4]! << 1;
  const b5 = b[o + 5]! << 1;
  const b6 = ((b[o + 6]! & 0x0f) | 0x40) << 1; // version 4
  const b7 = b[o + 7]! << 1;
  const b8 = ((b[o + 8]! & 0x3f) | 0x80) << 1; // variant 10xx (RFC 4122)
  const b9 = b[o + 9]! << 1;
  const b10 = b[o + 10]! << 1;
  const b11 = b[o + 11]! << 1;
  const b12 = b[o + 12]! << 1;
  const b13 = b[o + 13]! << 1;
  const b14 = b[o + 14]! << 1;
  const b15 = b[o + 15]! << 1;
  // biome-ignore format: one line per UUID group reads better than 36 lines.
  return char(
    h[b0]!, h[b0 + 1]!, h[b1]!, h[b1 + 1]!, h[b2]!, h[b2 + 1]!, h[b3]!, h[b3 + 1]!, DASH,
    h[b4]!, h[b4 + 1]!, h[b5]!, h[b5 + 1]!, DASH,
    h[b6]!, h[b6 + 1]!, h[b7]!, h[b7 + 1]!, DASH,
    h[b8]!, h[b8 + 1]!, h[b9]!, h[b9 + 1]!, DASH,
    h[b10]!, h[b10 + 1]!, h[b11]!, h[b11 + 1]!, h[b12]!, h[b12 + 1]!,
    h[b13]!, h[b13 + 1]!, h[b14]!, h[b14 + 1]!, h[b15]!, h[b15 + 1]!,
  );
}
