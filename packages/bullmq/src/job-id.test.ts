import { describe, expect, it } from 'vitest';
import { toJobId } from './job-id.ts';

describe('toJobId', () => {
  it('keeps a UUID as it is', () => {
    const id = '3f1c2b9e-8d2a-4c7e-9b1a-0e5f6a7b8c9d';
    expect(toJobId(id)).toBe(id);
  });

  it('escapes ids BullMQ refuses (integers, colons) into ids it accepts', () => {
    for (const id of ['42', '0', '-7', 'a:b', 'tenant:1:order']) {
      const jobId = toJobId(id);
      expect(jobId.includes(':')).toBe(false);
      expect(`${Number.parseInt(jobId, 10)}`).not.toBe(jobId);
    }
  });

  it('is one-to-one, so two messages never share a job id', () => {
    const ids = ['a:b', 'a%3Ab', '%a:b', '%3A', ':', '%', '%25', '1', '%1', 'x'];
    expect(new Set(ids.map(toJobId)).size).toBe(ids.length);
  });
});
