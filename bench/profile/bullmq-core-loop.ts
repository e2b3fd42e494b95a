/**
 * The Switchyard share of a BullMQ query without Redis or BullMQ: `queryBus.dispatch` → core's
 * `TransportProducer` (channel replies) → a loop wire that hands each batch of envelopes (one
 * `setImmediate` per batch, as the `BulkAdder`) to a `MessageReceiver` + query bus, whose encoded
 * replies come back through the producer's reply sink. 100 in flight. Prints ns per query (median of
 * rounds) — a low-noise A/B for changes to core's transport code. Not a bench.
 *
 *   node --experimental-strip-types --conditions=switchyard-source bench/profile/bullmq-core-loop.ts [rounds] [ops]
 */
import {
  MessageReceiver,
  type OutgoingMessage,
  type ProducerWire,
  TransportProducer,
  type WireChannel,
} from '@switchyard/core';
import { median } from '../lib/measure.ts';
import { Add, receivingBuses, sendingBuses } from '../lib/transport-fixtures.ts';

const [roundsArg = '15', opsArg = '100000'] = process.argv.slice(2);
const receiver = new MessageReceiver('loop', { queryBus: receivingBuses().queryBus });

class LoopWire implements ProducerWire<string> {
  readonly capabilities = { replies: 'channel', confirmsHandling: false, durable: false } as const;
  #channel: WireChannel | undefined;
  #batch: OutgoingMessage[] = [];
  async open(channel: WireChannel): Promise<string> {
    this.#channel = channel;
    return 'loop';
  }
  send(outgoing: OutgoingMessage): Promise<undefined> {
    if (this.#batch.length === 0) setImmediate(this.#flush);
    this.#batch.push(outgoing);
    return Promise.resolve(undefined);
  }
  readonly #flush = (): void => {
    const batch = this.#batch;
    this.#batch = [];
    for (const { data } of batch) {
      void receiver.receive(data).then((result) => {
        if (result.reply !== undefined) this.#channel!.reply(receiver.encodeReply(result.reply));
      });
    }
  };
  async close(): Promise<void> {}
}

const producer = new TransportProducer('LoopProducer', 'loop', new LoopWire());
const { queryBus } = sendingBuses(producer);
await producer.start();
const OPS = Number(opsArg);
async function round(): Promise<number> {
  let started = 0;
  let n = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: 100 }, async () => {
      while (started++ < OPS) {
        const value = ++n;
        if ((await queryBus.dispatch(Add.create({ a: value, b: value }))).sum !== value * 2)
          throw new Error('wrong reply');
      }
    }),
  );
  return Number(process.hrtime.bigint() - t0) / OPS;
}
for (let i = 0; i < 3; i++) await round();
const samples: number[] = [];
for (let i = 0; i < Number(roundsArg); i++) samples.push(await round());
console.log(
  `ns/query median ${median(samples).toFixed(0)} [${Math.min(...samples).toFixed(0)}–${Math.max(...samples).toFixed(0)}]`,
);
await producer.close();
