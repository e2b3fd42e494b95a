import {
  type AnyMessage,
  defineEvent,
  ErrorCode,
  EventBus,
  EventRouter,
  InMemoryChannel,
  InMemoryConsumer,
  InMemoryProducer,
  isSwitchyardError,
} from '@switchyard/core';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxDeadLetters, OutboxRelay, PostgresOutbox } from '../src/index.ts';
import { waitFor } from './outbox-kit.ts';
import { dropSchema, migratedSchema, testPool } from './pg-test-kit.ts';

const Note = defineEvent<{ text: string }>('Note');
let pool: pg.Pool;
let schema: string;

beforeAll(async () => {
  pool = testPool();
  schema = await migratedSchema(pool, 'outbox_dead');
});
afterAll(async () => {
  await dropSchema(pool, schema);
  await pool.end();
});

describe('OutboxDeadLetters', () => {
  it('parks what fails for good, keeps forwarding the rest, and lists, replays and purges', {
    timeout: 30_000,
  }, async () => {
    // Target "mail": an in-memory transport whose consumer is not running yet (every send fails
    // with SWITCHYARD_TRANSPORT_ERROR). Target "log": a working one that refuses messages over
    // 200 bytes (SWITCHYARD_PAYLOAD_TOO_LARGE: retrying cannot help).
    const mailChannel = new InMemoryChannel();
    const mail = new InMemoryProducer({ channel: mailChannel });
    const logChannel = new InMemoryChannel();
    const log = new InMemoryProducer({ channel: logChannel, maxMessageBytes: 200 });
    const received: { mail: string[]; log: string[] } = { mail: [], log: [] };
    const receiver = (into: string[]) => {
      const router = new EventRouter();
      router.route(Note).to((event: AnyMessage) => void into.push((event.payload as { text: string }).text));
      const bus = new EventBus();
      bus.use(router);
      return bus;
    };
    const mailConsumer = new InMemoryConsumer({ channel: mailChannel, eventBus: receiver(received.mail) });
    const logConsumer = new InMemoryConsumer({ channel: logChannel, eventBus: receiver(received.log) });
    await logConsumer.start();

    const outbox = new PostgresOutbox({ pool, schema });
    const router = new EventRouter();
    router.route(Note).to(outbox.to('mail')).andTo(outbox.to('log'));
    const eventBus = new EventBus();
    eventBus.use(router);
    const failures: { code: unknown; deadLetter: unknown }[] = [];
    const relay = new OutboxRelay({
      connection: pool,
      schema,
      targets: { mail, log },
      maxAttempts: 3,
      backoffMs: 10,
      onError: (error, context) =>
        failures.push({ code: (error as { code?: unknown }).code, deadLetter: context.deadLetter }),
    });
    const deadLetters = new OutboxDeadLetters({ connection: pool, schema });
    await relay.start();
    try {
      await outbox.transaction(async () => {
        await eventBus.dispatch(Note.create({ text: 'first' }));
        await eventBus.dispatch(Note.create({ text: 'x'.repeat(300) })); // too large for "log"
        await eventBus.dispatch(Note.create({ text: 'third' }));
      });
      // "log" parks the large one at once and goes on with the third; "mail" retries each of its
      // messages 3 times — in order, so one after the other — and parks them.
      await waitFor(() => received.log.length === 2, 5_000, 'the log stream to go past its dead letter');
      expect(received.log).toEqual(['first', 'third']);
      await waitFor(async () => (await deadLetters.count()) === 4, 10_000, 'four dead letters');
      expect(await relay.pending()).toBe(0);
      expect(failures.filter((failure) => failure.code === ErrorCode.PayloadTooLarge)).toEqual([
        { code: ErrorCode.PayloadTooLarge, deadLetter: true },
      ]);
      expect(failures.filter((failure) => failure.code === ErrorCode.TransportError)).toHaveLength(9);

      const letters = await deadLetters.list();
      expect(letters).toHaveLength(4);
      const mailLetters = letters.filter((letter) => letter.target === 'mail');
      expect(mailLetters).toHaveLength(3);
      for (const letter of mailLetters) {
        expect(letter.attemptsMade).toBe(3);
        expect(letter.failedReason).toMatch(/^SWITCHYARD_TRANSPORT_ERROR: No in-memory consumer/);
        expect(letter.stream).toBe('Note');
        expect(letter.failedAt).toBeInstanceOf(Date);
      }
      const large = letters.find((letter) => letter.target === 'log');
      expect(large?.attemptsMade).toBe(1);
      expect(large?.failedReason).toMatch(/^SWITCHYARD_PAYLOAD_TOO_LARGE/);
      expect((await deadLetters.get(large!.id))?.message?.payload).toEqual({ text: 'x'.repeat(300) });
      expect(await deadLetters.list(1, 2)).toHaveLength(2);
      expect(await deadLetters.get('999999999')).toBeUndefined();
      expect(await deadLetters.get('not-an-id')).toBeUndefined();

      // Fix "mail", replay one, then the rest; purge the large one.
      await mailConsumer.start();
      const first = mailLetters.find(
        (letter) => (letter.message?.payload as { text: string } | undefined)?.text === 'first',
      )!;
      expect(await deadLetters.replay(first.id)).toBe(true);
      await waitFor(() => received.mail.length === 1, 5_000, 'the replayed message');
      expect(received.mail).toEqual(['first']);
      expect(await deadLetters.replay(first.id)).toBe(false);
      expect(await deadLetters.purge(large!.id)).toBe(1);
      expect(await deadLetters.replayAll()).toBe(2);
      await waitFor(() => received.mail.length === 3, 5_000, 'the replayed messages');
      // Replayed oldest first: the stream's order is kept.
      expect(received.mail).toEqual(['first', 'x'.repeat(300), 'third']);
      expect(await deadLetters.count()).toBe(0);
      expect(await deadLetters.purge()).toBe(0);
    } finally {
      await relay.close();
      await deadLetters.close();
      await mailConsumer.close();
      await logConsumer.close();
    }
  });

  it('parks a malformed row (DecodeError) at once and keeps serving', async () => {
    const delivered: string[] = [];
    const router = new EventRouter();
    router.route(Note).to((event) => void delivered.push(event.payload.text));
    const target = new EventBus();
    target.use(router);
    await pool.query(
      `INSERT INTO "${schema}".outbox_messages (target, stream, message_id, name, envelope) VALUES ('local', 'Note', 'm-1', 'Note', '{not json')`,
    );
    const outbox = new PostgresOutbox({ pool, schema, unbound: 'autocommit' });
    await outbox.to('local').produce(Note.create({ text: 'after the poison' }));
    const relay = new OutboxRelay({
      connection: pool,
      schema,
      targets: { local: target },
      onError: () => undefined,
    });
    const deadLetters = new OutboxDeadLetters({ connection: pool, schema });
    await relay.start();
    try {
      await waitFor(() => delivered.length === 1, 5_000, 'the message after the poison');
      await waitFor(async () => (await deadLetters.count()) === 1, 5_000, 'the poison to be parked');
      const [letter] = await deadLetters.list();
      expect(letter?.failedReason).toMatch(/^SWITCHYARD_DECODE_ERROR/);
      expect(letter?.message).toBeUndefined();
      expect(letter?.envelope).toBe('{not json');
      expect(await deadLetters.purge()).toBe(1);
    } finally {
      await relay.close();
    }
  });

  it('rejects with a TransportError when PostgreSQL is unreachable', async () => {
    const deadLetters = new OutboxDeadLetters({ connection: 'postgres://postgres@127.0.0.1:1/test', schema });
    const error = await deadLetters.count().catch((caught: unknown) => caught);
    expect(isSwitchyardError(error, ErrorCode.TransportError)).toBe(true);
    await deadLetters.close();
  });
});
