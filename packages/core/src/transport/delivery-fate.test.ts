import { describe, expect, it } from 'vitest';
import { DeadlineExceededError, DecodeError, ErrorCode, TransportError, ValidationError } from '../errors.ts';
import { backoffDelay, deliveryFate, failedReason } from './delivery-fate.ts';
import { failureOutcome } from './failure-outcome.ts';

describe('deliveryFate', () => {
  const handler = failureOutcome(new Error('boom'));

  it('retries a handler failure while attempts are left, then dead-letters it', () => {
    expect(deliveryFate(handler, 1, 3, false)).toBe('retry');
    expect(deliveryFate(handler, 2, 3, false)).toBe('retry');
    expect(deliveryFate(handler, 3, 3, false)).toBe('dead-letter');
  });

  it('dead-letters undecodable and invalid messages at once', () => {
    expect(deliveryFate(failureOutcome(new DecodeError('bad')), 1, 5, false)).toBe('dead-letter');
    expect(deliveryFate(failureOutcome(new ValidationError('M', [])), 1, 5, false)).toBe('dead-letter');
  });

  it('completes an expired message and an answered query', () => {
    expect(deliveryFate(failureOutcome(new DeadlineExceededError('M', 0)), 1, 5, false)).toBe('complete');
    expect(deliveryFate(handler, 1, 5, true)).toBe('complete');
  });
});

describe('backoffDelay', () => {
  it('is fixed, or doubles after each failed try (BullMQ schedule)', () => {
    expect(backoffDelay(250, 4)).toBe(250);
    expect(backoffDelay({ type: 'fixed', delay: 100 }, 3)).toBe(100);
    expect([1, 2, 3, 4].map((made) => backoffDelay({ type: 'exponential', delay: 100 }, made))).toEqual([
      100, 200, 400, 800,
    ]);
  });
});

describe('failedReason', () => {
  it('is CODE: message for a Switchyard error, the message otherwise', () => {
    expect(failedReason(new TransportError('down'))).toBe(`${ErrorCode.TransportError}: down`);
    expect(failedReason(new Error('plain'))).toBe('plain');
  });
});
