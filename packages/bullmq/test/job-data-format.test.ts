import {
  CommandBus,
  CommandRouter,
  defineCommand,
  defineQuery,
  JsonCodec,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { BullMQConsumer, BullMQProducer, DeadLetters } from '../src/index.ts';
import { deleteKeys, REDIS_URL, uniquePrefix, waitFor } from './redis-test-kit.ts';

const Note = defineCommand<{ text: string }>('Note');
const Echo = defineQuery<{ text: string }, string>('Echo');
const prefix = uniquePrefix('job-data');
afterAll(() => deleteKeys(prefix));

function receiving(queueName: string) {
  const noted: string[] = [];
  const commands = new CommandRouter();
  commands.route(Note).to((command) => {
    if (command.payload.text === 'fail') throw new Error('refused');
    noted.push(command.payload.text);
  });
  const queries = new QueryRouter();
  queries.route(Echo).to((query) => query.payload.text);
  const commandBus = new CommandBus();
  commandBus.use(commands);
  const queryBus = new QueryBus();
  queryBus.use(queries);
  const consumer = new BullMQConsumer({ queueName, prefix, connection: REDIS_URL, commandBus, queryBus });
  return { consumer, noted };
}

describe('BullMQ job data', () => {
  it('writes the envelope as the codec text, the form every consumer version reads', async () => {
    const producer = new BullMQProducer({ queueName: 'string-form', prefix, connection: REDIS_URL });
    try {
      const command = Note.create({ text: 'say "hi"' });
      await producer.produce(command);
      const job = await producer.queue!.getJob(command.id);
      expect(job?.data).toEqual({ envelope: new JsonCodec().encode(command) });
    } finally {
      await producer.close();
    }
  });

  it('reads a job whose envelope is stored as an object (the JSON envelope itself)', async () => {
    const { consumer, noted } = receiving('object-form');
    await consumer.start();
    const raw = new Queue('object-form', { connection: { url: REDIS_URL }, prefix });
    try {
      await raw.add('Note', { envelope: new JsonCodec().encodeObject(Note.create({ text: 'as object' })) });
      await waitFor(() => noted.length === 1, 10_000, 'the object-envelope command');
      expect(noted).toEqual(['as object']);
    } finally {
      await consumer.close();
      await raw.close();
    }
  });

  it('reads jobs written by earlier versions and by this one, commands and queries', async () => {
    const { consumer, noted } = receiving('old-form');
    await consumer.start();
    const raw = new Queue('old-form', { connection: { url: REDIS_URL }, prefix });
    const producer = new BullMQProducer({ queueName: 'old-form', prefix, connection: REDIS_URL });
    try {
      const codec = new JsonCodec();
      await raw.add('Note', { envelope: codec.encode(Note.create({ text: 'old' })) });
      await producer.produce(Note.create({ text: 'new' }));
      await waitFor(() => noted.length === 2, 10_000, 'both commands');
      expect(noted.sort()).toEqual(['new', 'old']);
      // And a query is answered as before.
      const router = new QueryRouter();
      router.route(Echo).to(producer);
      const bus = new QueryBus();
      bus.use(router);
      await expect(bus.dispatch(Echo.create({ text: 'ping' }))).resolves.toBe('ping');
    } finally {
      await producer.close();
      await consumer.close();
      await raw.close();
    }
  });

  it('refuses an object envelope that is not a valid one, or that carries "__proto__", at once', async () => {
    const errors: unknown[] = [];
    const commandBus = new CommandBus(); // no handler: only the decode step is under test
    const consumer = new BullMQConsumer({
      queueName: 'bad-object',
      prefix,
      connection: REDIS_URL,
      commandBus,
      onError: (error) => errors.push(error),
    });
    await consumer.start();
    const raw = new Queue('bad-object', { connection: { url: REDIS_URL }, prefix });
    try {
      const bad = await raw.add('Note', { envelope: { v: 2, id: 'x' } }, { attempts: 3 });
      const polluted = await raw.add(
        'Note',
        JSON.parse(
          `{"envelope":{"v":1,"id":"p","kind":"command","name":"Note","payload":{"__proto__":{"x":1}},"metadata":{},"createdAt":"2026-01-01T00:00:00.000Z"}}`,
        ) as object,
        { attempts: 3 },
      );
      await waitFor(
        async () => (await bad.getState()) === 'failed' && (await polluted.getState()) === 'failed',
        10_000,
        'both jobs failed',
      );
      const [badJob, pollutedJob] = await Promise.all([raw.getJob(bad.id!), raw.getJob(polluted.id!)]);
      expect(badJob?.attemptsMade).toBe(1);
      expect(badJob?.failedReason).toMatch(/SWITCHYARD_DECODE_ERROR.*version/);
      expect(pollutedJob?.failedReason).toMatch(/SWITCHYARD_DECODE_ERROR.*__proto__/);
      expect(errors).toHaveLength(2);
    } finally {
      await consumer.close();
      await raw.close();
    }
  });

  it('lists a failed object-envelope job as a dead letter with its message and JSON text', async () => {
    const { consumer } = receiving('dead-object');
    await consumer.start();
    const producer = new Queue('dead-object', { connection: { url: REDIS_URL }, prefix });
    const dead = new DeadLetters({ queueName: 'dead-object', prefix, connection: REDIS_URL });
    try {
      const command = Note.create({ text: 'fail' });
      await producer.add('Note', { envelope: new JsonCodec().encodeObject(command) }, { attempts: 1 });
      await waitFor(async () => (await dead.list()).length === 1, 10_000, 'the dead letter');
      const [letter] = await dead.list();
      expect(letter?.message).toMatchObject({ id: command.id, name: 'Note', payload: { text: 'fail' } });
      expect(JSON.parse(letter?.envelope as string)).toMatchObject({ v: 1, id: command.id });
    } finally {
      await dead.close();
      await producer.close();
      await consumer.close();
    }
  });
});
