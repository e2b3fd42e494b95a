import { describe, expect, it } from 'vitest';
import { defineCommand } from './definitions.ts';
import { randomUuid } from './uuid.ts';

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('randomUuid', () => {
  it('returns RFC 4122 version 4 UUIDs: lowercase hex, version 4, variant 10xx', () => {
    // 5,000 ids cross refills of the pooled random bytes (2,048 ids per refill) and many batches.
    for (let i = 0; i < 5_000; i++) expect(randomUuid()).toMatch(V4);
  });

  it('never repeats over 200,000 ids', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 200_000; i++) seen.add(randomUuid());
    expect(seen.size).toBe(200_000);
  });

  it('gives ids that behave as any string: JSON round trip, map keys, property keys, comparison', () => {
    const ids = Array.from({ length: 20 }, () => randomUuid()); // spans batches
    const copies = JSON.parse(JSON.stringify(ids)) as string[];
    const byId = new Map(ids.map((id, index) => [id, index]));
    const record: Record<string, number> = {};
    for (const [index, id] of ids.entries()) record[id] = index;
    for (const [index, copy] of copies.entries()) {
      expect(copy).toBe(ids[index]);
      expect(copy.length).toBe(36);
      expect(byId.get(copy)).toBe(index);
      expect(record[copy]).toBe(index);
      expect(Buffer.from(ids[index]!, 'latin1').toString('latin1')).toBe(copy);
    }
  });

  it('uses every hex digit in every free position (the random bits are not stuck)', () => {
    const digitsAt = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 5_000; i++) {
      const id = randomUuid();
      for (let p = 0; p < 36; p++) digitsAt[p]!.add(id[p]!);
    }
    for (let p = 0; p < 36; p++) {
      if (p === 8 || p === 13 || p === 18 || p === 23) expect([...digitsAt[p]!]).toEqual(['-']);
      else if (p === 14) expect([...digitsAt[p]!]).toEqual(['4']);
      else if (p === 19) expect([...digitsAt[p]!].sort()).toEqual(['8', '9', 'a', 'b']);
      else expect(digitsAt[p]!.size).toBe(16);
    }
  });

  it('is what a definition stamps on each new message, with createdAt read at creation', async () => {
    const Ping = defineCommand<{ n: number }>('Ping');
    const first = Ping.create({ n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = Ping.create({ n: 2 });
    expect(first.id).toMatch(V4);
    expect(second.id).toMatch(V4);
    expect(first.id).not.toBe(second.id);
    expect(Date.parse(second.createdAt)).toBeGreaterThan(Date.parse(first.createdAt));
    expect(Object.isFrozen(first)).toBe(true);
  });
});
