/**
 * ZeroMQ transport: Switchyard's ZeroMQProducer → ZeroMQConsumer end to end (bus on both sides,
 * envelope encode/decode and validation, serialised writer, reply matching) against raw zeromq.js
 * sockets carrying the same JSON envelope: Push→Pull for commands, Dealer↔Router with a correlation
 * frame for queries. Both sides of each pair share this process, so both pay the receiving cost.
 */
import { randomUUID } from 'node:crypto';
import { ZeroMQConsumer, ZeroMQProducer } from '@switchyard/zeromq';
import { Dealer, Pull, Push, Router } from 'zeromq';
import { compareLatency, compareThroughput, untilCount } from '../lib/measure.ts';
import { Add, Ping, rawEnvelope, receivingBuses, sendingBuses } from '../lib/transport-fixtures.ts';
import type { BenchResult, BenchScenario } from '../lib/types.ts';

const COMMAND_OPS = 100_000;
const QUERY_OPS = 200_000;
const CONCURRENCY = 64;

async function run(): Promise<BenchResult[]> {
  // --- Switchyard ------------------------------------------------------------------------------
  const receiver = receivingBuses();
  const consumer = new ZeroMQConsumer({
    commandEndpoint: 'tcp://127.0.0.1:0',
    queryEndpoint: 'tcp://127.0.0.1:0',
    commandBus: receiver.commandBus,
    queryBus: receiver.queryBus,
  });
  const bound = await consumer.start();
  const producer = new ZeroMQProducer({ commandEndpoint: bound.commands, queryEndpoint: bound.queries });
  await producer.start(); // connects in the background; the first dispatch waits for the handshake
  const { commandBus, queryBus } = sendingBuses(producer);

  // --- raw zeromq.js: the same envelope, parsed on arrival ---------------------------------------
  let rawHandled = 0;
  const pull = new Pull({ linger: 0 });
  await pull.bind('tcp://127.0.0.1:0');
  const push = new Push({ linger: 0 });
  push.connect(pull.lastEndpoint!);
  const pulling = (async () => {
    for await (const [body] of pull) {
      const message = JSON.parse(body!.toString()) as { payload: { n: number } };
      if (typeof message.payload.n === 'number') rawHandled++;
    }
  })().catch(() => undefined);

  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:0');
  const routing = (async () => {
    for await (const [identity, correlation, body] of router) {
      const query = JSON.parse(body!.toString()) as { id: string; payload: { a: number; b: number } };
      const result = { sum: query.payload.a + query.payload.b };
      await router.send([
        identity!,
        correlation!,
        JSON.stringify({ v: 1, inReplyTo: query.id, ok: true, result }),
      ]);
    }
  })().catch(() => undefined);
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(router.lastEndpoint!);
  const waiting = new Map<string, (reply: { result: { sum: number } }) => void>();
  const dealing = (async () => {
    for await (const [correlation, body] of dealer) {
      const resolve = waiting.get(correlation!.toString());
      if (resolve === undefined) continue;
      waiting.delete(correlation!.toString());
      resolve(JSON.parse(body!.toString()) as { result: { sum: number } });
    }
  })().catch(() => undefined);
  // zeromq.js allows one send in progress per socket: the minimal serialisation a raw user writes.
  let sending: Promise<void> = Promise.resolve();
  const rawQuery = async (n: number): Promise<void> => {
    const id = randomUUID();
    const reply = new Promise<{ result: { sum: number } }>((resolve) => waiting.set(id, resolve));
    const frames = [id, rawEnvelope('query', Add.name, { a: n, b: 1 }, id)];
    sending = sending.then(() => dealer.send(frames));
    await sending;
    if ((await reply).result.sum !== n + 1) throw new Error('raw query: wrong reply');
  };

  let switchyardSeq = 0;
  let rawSeq = 0;
  const rows: BenchResult[] = [];
  try {
    rows.push(
      await compareThroughput({
        name: 'zeromq: commands Push→Pull end to end',
        subject: {
          name: 'switchyard ZeroMQProducer',
          async run(ops) {
            const target = receiver.handled() + ops;
            for (let n = 0; n < ops; n++) await commandBus.dispatch(Ping.create({ n }));
            await untilCount(receiver.handled, target);
          },
        },
        baseline: {
          name: 'raw zeromq.js Push/Pull',
          async run(ops) {
            const target = rawHandled + ops;
            for (let n = 0; n < ops; n++) await push.send(rawEnvelope('command', Ping.name, { n }));
            await untilCount(() => rawHandled, target);
          },
        },
        ops: COMMAND_OPS,
      }),
    );
    rows.push(
      ...(await compareLatency({
        name: `zeromq: queries, ${CONCURRENCY} in flight`,
        subject: {
          name: 'switchyard ZeroMQProducer',
          async once() {
            const n = switchyardSeq++;
            const result = await queryBus.dispatch(Add.create({ a: n, b: 1 }));
            if (result.sum !== n + 1) throw new Error('switchyard query: wrong reply');
          },
        },
        baseline: { name: 'raw zeromq.js Dealer/Router', once: () => rawQuery(rawSeq++) },
        concurrency: CONCURRENCY,
        ops: QUERY_OPS,
      })),
    );
  } finally {
    await producer.close();
    await consumer.close();
    for (const socket of [push, pull, dealer, router]) socket.close();
    await Promise.all([pulling, routing, dealing]);
  }
  return rows;
}

export const scenario: BenchScenario = { id: 'zeromq', run };
