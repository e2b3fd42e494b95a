import { describe, expect, it } from 'vitest';
import { checkSubscription, eventMatcher } from './subscription.ts';

describe('eventMatcher', () => {
  it('matches exact names and * patterns, nothing else', () => {
    const wanted = eventMatcher(['UserRegistered', 'Order*', 'billing.*.done']);
    expect(wanted('UserRegistered')).toBe(true);
    expect(wanted('UserRegistered2')).toBe(false);
    expect(wanted('OrderPlaced')).toBe(true);
    expect(wanted('Order')).toBe(true);
    expect(wanted('XOrderPlaced')).toBe(false);
    expect(wanted('billing.invoice.done')).toBe(true);
    expect(wanted('billingXinvoiceXdone')).toBe(false); // "." is literal
  });

  it('treats regular-expression characters in names literally', () => {
    const wanted = eventMatcher(['a+b', '(x)*']);
    expect(wanted('a+b')).toBe(true);
    expect(wanted('aab')).toBe(false);
    expect(wanted('(x)yz')).toBe(true);
  });

  it('"*" matches every event', () => {
    expect(eventMatcher(['*'])('anything.at.all')).toBe(true);
  });
});

describe('checkSubscription', () => {
  it('accepts a group and events', () => {
    expect(() => checkSubscription('billing-v2.eu:1', ['X'])).not.toThrow();
  });

  it.each([
    ['', ['X'], /subscriber group/],
    ['has space', ['X'], /subscriber group/],
    ['x'.repeat(101), ['X'], /subscriber group/],
    ['g', [], /subscribes to no events/],
    ['g', undefined, /subscribes to no events/],
    ['g', [''], /invalid event pattern/],
  ])('refuses group %j with events %j', (group, events, message) => {
    expect(() => checkSubscription(group, events)).toThrow(message);
  });
});
