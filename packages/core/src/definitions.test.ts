import type { StandardSchemaV1 } from '@standard-schema/spec';
import { describe, expect, expectTypeOf, it } from 'vitest';
import {
  DefinitionRegistry,
  defineCommand,
  defineEvent,
  defineQuery,
  validateMessage,
} from './definitions.ts';
import { ErrorCode } from './errors.ts';
import { createMessage, withMetadata } from './message.ts';

const trimmed: StandardSchemaV1<unknown, { email: string }> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    async validate(value) {
      const email = (value as { email?: unknown })?.email;
      if (typeof email !== 'string')
        return { issues: [{ message: 'email is required', path: [{ key: 'email' }] }] };
      return { value: { email: email.trim() } };
    },
  },
};

describe('definitions and messages', () => {
  it('creates frozen messages with id, kind, name, payload, metadata and createdAt', () => {
    const Register = defineCommand<{ email: string }>('Register');
    const message = Register.create({ email: 'a' }, { metadata: { correlationId: 'c' } });
    expect(message).toMatchObject({
      kind: 'command',
      name: 'Register',
      payload: { email: 'a' },
      metadata: { correlationId: 'c' },
    });
    expect(message.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(message.createdAt))).toBe(false);
    expect(Object.isFrozen(message)).toBe(true);
    expect(() => {
      (message as { name: string }).name = 'x';
    }).toThrow();
    const traced = withMetadata(message, { causationId: 'p' });
    expect(traced.metadata).toEqual({ correlationId: 'c', causationId: 'p' });
    expect(message.metadata).toEqual({ correlationId: 'c' });
    expect(Register.create({ email: 'b' }, { id: 'fixed' }).id).toBe('fixed');
  });

  it('creates a message without options like createMessage: frozen, same fields in the same order, created now', () => {
    const Ping = defineEvent<{ n: number }>('Ping');
    const before = new Date().toISOString();
    const message = Ping.create({ n: 1 });
    const after = new Date().toISOString();
    expect(Object.isFrozen(message)).toBe(true);
    expect(Object.isFrozen(message.metadata)).toBe(true);
    expect(message.metadata).toEqual({});
    expect(Object.keys(message)).toEqual(
      Object.keys(createMessage({ kind: 'event', name: 'Ping', payload: { n: 1 } })),
    );
    expect(message.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(message.createdAt >= before && message.createdAt <= after).toBe(true);
    expect(Ping.create({ n: 2 }).id).not.toBe(message.id);
  });

  it('types query results', () => {
    const GetUser = defineQuery<{ id: string }, { name: string }>('GetUser');
    const query = GetUser.create({ id: '1' });
    expectTypeOf(query.payload).toEqualTypeOf<{ id: string }>();
    expect(query.kind).toBe('query');
  });

  it('refuses empty names', () => {
    expect(() => defineCommand('')).toThrowError(/non-empty/);
  });

  it('validates with a Standard Schema and uses its output', async () => {
    const Register = defineCommand('Register', { schema: trimmed });
    const ok = await validateMessage(Register, Register.create({ email: '  a@b.c ' }));
    expect(ok.payload).toEqual({ email: 'a@b.c' });
    await expect(validateMessage(Register, Register.create({} as { email: string }))).rejects.toMatchObject({
      code: ErrorCode.ValidationError,
      issues: [{ message: 'email is required', path: ['email'] }],
    });
  });

  it('keeps one definition per name in a registry', () => {
    const A = defineCommand('Same');
    const registry = new DefinitionRegistry([A]);
    expect(registry.get('Same')).toBe(A);
    expect(() => registry.add(defineCommand('Same'))).toThrowError(/Two different definitions/);
  });
});
