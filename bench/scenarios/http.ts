/**
 * HTTP transport: Switchyard's HttpProducer → HttpConsumer end to end (bus on both sides, envelope
 * encode/decode, dedupe, reply matching) against raw undici `Pool.request` POSTs of the same
 * envelope to the same consumer with the same connections and concurrency, and against `fetch`.
 * Client and server share this process (and its two cores), so both sides pay the server's cost.
 */
import { HttpConsumer, HttpProducer } from '@switchyard/http';
import { Pool } from 'undici';
import { compareLatency, compareThroughput, lanes as lanesOf } from '../lib/measure.ts';
import { Add, Ping, rawEnvelope, receivingBuses, sendingBuses } from '../lib/transport-fixtures.ts';
import type { BenchResult, BenchScenario } from '../lib/types.ts';

const CONNECTIONS = 16;
const CONCURRENCY = 64;
const OPS = 12_000;
const LATENCY_OPS = 6_000;

/** Runs `ops` calls of `once`, `concurrency` at a time. */
function lanes(once: (index: number) => Promise<void>, concurrency = CONCURRENCY) {
  return lanesOf(once, concurrency);
}

async function run(): Promise<BenchResult[]> {
  // Receiving side.
  const receiver = receivingBuses();
  const consumer = new HttpConsumer({ commandBus: receiver.commandBus, queryBus: receiver.queryBus });
  const { url } = await consumer.start();

  // Sending side: Switchyard.
  const producer = new HttpProducer({ url, connections: CONNECTIONS });
  const { commandBus, queryBus } = sendingBuses(producer);

  // Sending side: raw undici and fetch, same endpoint and envelope.
  const pool = new Pool(new URL(url).origin, { connections: CONNECTIONS });
  const headers = { 'content-type': 'application/json' };
  const rawCommand = async (n: number): Promise<void> => {
    const response = await pool.request({
      path: '/',
      method: 'POST',
      headers,
      body: rawEnvelope('command', Ping.name, { n }),
    });
    await response.body.dump();
    if (response.statusCode !== 202) throw new Error(`raw command: HTTP ${response.statusCode}`);
  };
  const rawQuery = async (n: number): Promise<void> => {
    const response = await pool.request({
      path: '/',
      method: 'POST',
      headers,
      body: rawEnvelope('query', Add.name, { a: n, b: 1 }),
    });
    const reply = JSON.parse(await response.body.text()) as { ok: boolean; result: { sum: number } };
    if (!reply.ok || reply.result.sum !== n + 1) throw new Error('raw query: wrong reply');
  };
  const fetchCommand = async (n: number): Promise<void> => {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body: rawEnvelope('command', Ping.name, { n }),
    });
    await response.arrayBuffer();
    if (response.status !== 202) throw new Error(`fetch command: HTTP ${response.status}`);
  };
  const fetchQuery = async (n: number): Promise<void> => {
    const response = await fetch(url, {
      method: 'POST',
      headers,
      body: rawEnvelope('query', Add.name, { a: n, b: 1 }),
    });
    const reply = (await response.json()) as { ok: boolean; result: { sum: number } };
    if (!reply.ok || reply.result.sum !== n + 1) throw new Error('fetch query: wrong reply');
  };
  const switchyardCommand = (n: number): Promise<void> => commandBus.dispatch(Ping.create({ n }));
  const switchyardQuery = async (n: number): Promise<void> => {
    const result = await queryBus.dispatch(Add.create({ a: n, b: 1 }));
    if (result.sum !== n + 1) throw new Error('switchyard query: wrong reply');
  };

  const subjectCommands = { name: 'switchyard HttpProducer', run: lanes(switchyardCommand) };
  const subjectQueries = { name: 'switchyard HttpProducer', run: lanes(switchyardQuery) };
  const results: BenchResult[] = [];
  try {
    const rows = [
      await compareThroughput({
        name: `http: commands, ${CONCURRENCY} in flight`,
        subject: subjectCommands,
        baseline: { name: 'raw undici Pool.request', run: lanes(rawCommand) },
        ops: OPS,
      }),
      await compareThroughput({
        name: `http: queries, ${CONCURRENCY} in flight`,
        subject: subjectQueries,
        baseline: { name: 'raw undici Pool.request', run: lanes(rawQuery) },
        ops: OPS,
      }),
      await compareThroughput({
        name: `http: commands, ${CONCURRENCY} in flight`,
        subject: subjectCommands,
        baseline: { name: 'fetch', run: lanes(fetchCommand) },
        ops: OPS,
        rounds: 5,
      }),
      await compareThroughput({
        name: `http: queries, ${CONCURRENCY} in flight`,
        subject: subjectQueries,
        baseline: { name: 'fetch', run: lanes(fetchQuery) },
        ops: OPS,
        rounds: 5,
      }),
    ];
    results.push(...rows);
    let counter = 0;
    results.push(
      ...(await compareLatency({
        name: 'http: command latency, 1 in flight',
        subject: { name: 'switchyard HttpProducer', once: () => switchyardCommand(counter++) },
        baseline: { name: 'raw undici Pool.request', once: () => rawCommand(counter++) },
        concurrency: 1,
        ops: LATENCY_OPS,
      })),
      ...(await compareLatency({
        name: 'http: query latency, 1 in flight',
        subject: { name: 'switchyard HttpProducer', once: () => switchyardQuery(counter++) },
        baseline: { name: 'raw undici Pool.request', once: () => rawQuery(counter++) },
        concurrency: 1,
        ops: LATENCY_OPS,
      })),
      ...(await compareLatency({
        name: `http: query latency, ${CONCURRENCY} in flight`,
        subject: { name: 'switchyard HttpProducer', once: () => switchyardQuery(counter++) },
        baseline: { name: 'raw undici Pool.request', once: () => rawQuery(counter++) },
        concurrency: CONCURRENCY,
        ops: LATENCY_OPS * 2,
      })),
    );
    if (receiver.handled() === 0) throw new Error('no command reached the consumer');
  } finally {
    await producer.close();
    await pool.close();
    await consumer.close();
  }
  return results;
}

export const scenario: BenchScenario = { id: 'http', run };
