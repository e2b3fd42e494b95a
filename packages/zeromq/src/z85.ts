/** The Z85 alphabet (ZeroMQ RFC 32), in which CURVE keys are written as 40 characters. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const DIGITS = new Map<string, number>([...ALPHABET].map((char, index) => [char, index]));

/** Decodes Z85 text into bytes; returns `undefined` for text that is not valid Z85. */
export function z85Decode(text: string): Uint8Array | undefined {
  if (text.length % 5 !== 0) return undefined;
  const bytes = new Uint8Array((text.length / 5) * 4);
  for (let block = 0; block < text.length / 5; block++) {
    let value = 0;
    for (let offset = 0; offset < 5; offset++) {
      const digit = DIGITS.get(text[block * 5 + offset]!);
      if (digit === undefined) return undefined;
      value = value * 85 + digit;
    }
    if (value > 0xffff_ffff) return undefined;
    bytes[block * 4] = value >>> 24;
    bytes[block * 4 + 1] = (value >>> 16) & 0xff;
    bytes[block * 4 + 2] = (value >>> 8) & 0xff;
    bytes[block * 4 + 3] = value & 0xff;
  }
  return bytes;
}

/** Encodes bytes (a multiple of 4 long) as Z85 text. */
export function z85Encode(bytes: Uint8Array): string {
  let text = '';
  for (let block = 0; block < bytes.length / 4; block++) {
    let value =
      bytes[block * 4]! * 0x100_0000 +
      (bytes[block * 4 + 1]! << 16) +
      (bytes[block * 4 + 2]! << 8) +
      bytes[block * 4 + 3]!;
    const chars: string[] = [];
    for (let offset = 0; offset < 5; offset++) {
      chars.unshift(ALPHABET[value % 85]!);
      value = Math.floor(value / 85);
    }
    text += chars.join('');
  }
  return text;
}

/** True for a 40-character Z85 CURVE key (32 bytes). */
export function isCurveKey(key: unknown): key is string {
  return typeof key === 'string' && key.length === 40 && z85Decode(key) !== undefined;
}
