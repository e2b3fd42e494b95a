import type { StandardSchemaV1 } from '@standard-schema/spec';
import { defineCommand, defineEvent, defineQuery } from '@switchyard/core';

/** A hand-written Standard Schema: `{ count: number }`. */
const countSchema: StandardSchemaV1<unknown, { count: number }> = {
  '~standard': {
    version: 1,
    vendor: 'switchyard-conformance',
    validate(value) {
      if (
        typeof value === 'object' &&
        value !== null &&
        typeof (value as { count?: unknown }).count === 'number'
      ) {
        return { value: value as { count: number } };
      }
      return { issues: [{ message: 'count must be a number', path: ['count'] }] };
    },
  },
};

/** The message types the suite sends. Their names are namespaced so they never clash with yours. */
export const Fixtures = {
  Command: defineCommand<{ text: string; blob?: string }>('conformance.Command'),
  Event: defineEvent<{ text: string }>('conformance.Event'),
  Add: defineQuery<{ a: number; b: number }, { sum: number }>('conformance.Add'),
  Echo: defineQuery<unknown, unknown>('conformance.Echo'),
  Slow: defineQuery<{ delayMs: number; tag: string }, { tag: string }>('conformance.Slow'),
  Fail: defineQuery<{ reason: string }, never>('conformance.Fail'),
  Unrouted: defineQuery<Record<string, never>, never>('conformance.Unrouted'),
  Validated: defineQuery<{ count: number }, { doubled: number }>('conformance.Validated', {
    schema: countSchema,
  }),
} as const;

/** Every definition, for consumers that validate. */
export const fixtureDefinitions = Object.values(Fixtures);

/** An application error with a name and a code, as a remote handler would throw it. */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly code = 'E_DOMAIN';
}
