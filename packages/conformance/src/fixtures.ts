import type { StandardSchemaV1 } from '@standard-schema/spec';
import { defineCommand, defineEvent, defineQuery } from '@switchyard/core';

/** A hand-written Standard Schema: `{ count: number; label: string }`, reporting every issue. */
const countedSchema: StandardSchemaV1<unknown, { count: number; label: string }> = {
  '~standard': {
    version: 1,
    vendor: 'switchyard-conformance',
    validate(value) {
      const record = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
      const issues: StandardSchemaV1.Issue[] = [];
      if (typeof record.count !== 'number')
        issues.push({ message: 'count must be a number', path: ['count'] });
      if (typeof record.label !== 'string')
        issues.push({ message: 'label must be a string', path: ['label'] });
      return issues.length > 0 ? { issues } : { value: value as { count: number; label: string } };
    },
  },
};

/** The message types the suite sends. Their names are namespaced so they never clash with yours. */
export const Fixtures = {
  Command: defineCommand<{ text: string; blob?: string }>('conformance.Command'),
  /** A command whose handler throws a {@link DomainError}. */
  FailCommand: defineCommand<{ reason: string }>('conformance.FailCommand'),
  /** A command whose payload is validated (two fields, so two issues when both are wrong). */
  ValidatedCommand: defineCommand<{ count: number; label: string }>('conformance.ValidatedCommand', {
    schema: countedSchema,
  }),
  /** A command whose handler takes `delayMs` and records when its signal fires. */
  SlowCommand: defineCommand<{ delayMs: number; tag: string }>('conformance.SlowCommand'),
  Event: defineEvent<{ text: string }>('conformance.Event'),
  Add: defineQuery<{ a: number; b: number }, { sum: number }>('conformance.Add'),
  Echo: defineQuery<unknown, unknown>('conformance.Echo'),
  Slow: defineQuery<{ delayMs: number; tag: string }, { tag: string }>('conformance.Slow'),
  Fail: defineQuery<{ reason: string }, never>('conformance.Fail'),
  Unrouted: defineQuery<Record<string, never>, never>('conformance.Unrouted'),
  Validated: defineQuery<{ count: number; label: string }, { doubled: number }>('conformance.Validated', {
    schema: countedSchema,
  }),
  /** A query whose handler counts its runs. */
  Counted: defineQuery<{ tag: string }, { tag: string }>('conformance.Counted'),
  /** A query whose handler waits for its signal (at most `maxMs`) and records when it fired. */
  Watch: defineQuery<{ tag: string; maxMs: number }, { fired: boolean }>('conformance.Watch'),
} as const;

/** Every definition, for consumers that validate. */
export const fixtureDefinitions = Object.values(Fixtures);

/** An application error with a name and a code, as a remote handler would throw it. */
export class DomainError extends Error {
  override readonly name = 'DomainError';
  readonly code = 'E_DOMAIN';
}
