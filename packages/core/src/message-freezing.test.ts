import { execFile } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { JsonCodec } from './codec/json-codec.ts';
import { defineCommand, validateMessage } from './definitions.ts';
import { createMessage, EMPTY_METADATA, freezeMessages, messagesAreFrozen, withMetadata } from './message.ts';

const Register = defineCommand<{ email: string }>('Register');

/** Every way core builds a message, so each is checked in both modes. */
async function messagesBuiltEveryWay() {
  const created = Register.create({ email: 'a@b.c' });
  const withOptions = Register.create({ email: 'a@b.c' }, { metadata: { tenant: 't1' } });
  const built = createMessage({ kind: 'event', name: 'Built', payload: 1, metadata: { a: 1 } });
  const merged = withMetadata(created, { traced: true });
  const codec = new JsonCodec();
  const decoded = codec.decode(codec.encode(withOptions));
  const Trimmed = defineCommand<{ email: string }>('Trimmed', {
    schema: {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) => ({ value: { email: String((value as { email: string }).email).trim() } }),
      },
    },
  });
  const transformed = await validateMessage(Trimmed, Trimmed.create({ email: ' a@b.c ' }));
  return { created, withOptions, built, merged, decoded, transformed };
}

describe('message freezing', () => {
  afterEach(() => {
    freezeMessages(true); // vitest runs with NODE_ENV=test: the default is on
  });

  it('freezes every message and its metadata outside production (vitest runs with NODE_ENV=test)', async () => {
    expect(messagesAreFrozen()).toBe(true);
    for (const [way, message] of Object.entries(await messagesBuiltEveryWay())) {
      expect(Object.isFrozen(message), way).toBe(true);
      expect(Object.isFrozen(message.metadata), way).toBe(true);
    }
    const message = Register.create({ email: 'a@b.c' });
    expect(() => {
      (message as { name: string }).name = 'Other';
    }).toThrow(TypeError);
  });

  it('builds unfrozen messages with the same fields when turned off, and keeps the shared empty metadata frozen', async () => {
    expect(freezeMessages(false)).toBe(true);
    expect(messagesAreFrozen()).toBe(false);
    const messages = await messagesBuiltEveryWay();
    for (const [way, message] of Object.entries(messages)) {
      expect(Object.isFrozen(message), way).toBe(false);
      expect(Object.keys(message), way).toEqual(['id', 'kind', 'name', 'payload', 'metadata', 'createdAt']);
    }
    expect(messages.created.metadata).toBe(EMPTY_METADATA);
    expect(Object.isFrozen(EMPTY_METADATA)).toBe(true);
    expect(Object.isFrozen(messages.withOptions.metadata)).toBe(false);
    expect(messages.merged.metadata).toEqual({ traced: true });
    expect(messages.decoded).toEqual(messages.withOptions);
    expect(messages.transformed.payload).toEqual({ email: 'a@b.c' });
    expect(freezeMessages(true)).toBe(false);
    expect(Object.isFrozen(Register.create({ email: 'a@b.c' }))).toBe(true);
  });

  it('refuses a setting that is not a boolean', () => {
    expect(() => freezeMessages('no' as unknown as boolean)).toThrow(/enabled must be a boolean, got string/);
    expect(messagesAreFrozen()).toBe(true);
  });

  it.each<[string | undefined, boolean]>([
    ['production', false],
    ['development', true],
    [undefined, true],
  ])('NODE_ENV=%s when core loads: frozen %s', async (nodeEnv, frozen) => {
    const module = pathToFileURL(fileURLToPath(new URL('./definitions.ts', import.meta.url))).href;
    const script = `
      const { defineEvent } = await import(${JSON.stringify(module)});
      const message = defineEvent('Seen').create({ n: 1 });
      console.log(JSON.stringify({ frozen: Object.isFrozen(message), metadata: Object.isFrozen(message.metadata) }));`;
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_ENV;
    if (nodeEnv !== undefined) env.NODE_ENV = nodeEnv;
    const output = await new Promise<string>((resolve, reject) => {
      execFile(
        process.execPath,
        ['--input-type=module', '--no-warnings', '-e', script],
        { env, timeout: 20_000 },
        (error, stdout, stderr) => (error ? reject(new Error(stderr || error.message)) : resolve(stdout)),
      );
    });
    // The shared empty metadata is frozen in every mode; the message follows NODE_ENV.
    expect(JSON.parse(output)).toEqual({ frozen, metadata: true });
  });
});
