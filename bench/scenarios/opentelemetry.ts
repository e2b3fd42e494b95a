/**
 * @switchyard/opentelemetry's cost: the same dispatches with the instrumentation installed over the
 * OpenTelemetry API with no SDK (a no-op tracer and meter: what a library user pays before choosing
 * an exporter) against no instrumentation at all, measured in interleaved rounds of one run. Rows:
 * core command dispatch (router → async handler, prebuilt messages) and an HTTP command round trip
 * (HttpProducer → HttpConsumer on loopback; both sides instrumented, as in two real services).
 */
import { CommandBus, CommandRouter, defineCommand } from '@switchyard/core';
import { HttpConsumer, HttpProducer } from '@switchyard/http';
import { instrumentSwitchyard } from '@switchyard/opentelemetry';
import { compareThroughput, lanes } from '../lib/measure.ts';
import { Ping, receivingBuses, sendingBuses } from '../lib/transport-fixtures.ts';
import type { BenchResult, BenchScenario } from '../lib/types.ts';

const CORE_OPS = Number(process.env.OPS ?? 100_000);
const HTTP_OPS = 4_000;
const Register = defineCommand<{ n: number }>('bench.Register');

/** Runs `work` with the instrumentation installed (no SDK: no-op tracer, meter and propagator). */
function instrumented(work: (ops: number) => Promise<void>) {
  return async (ops: number): Promise<void> => {
    const uninstall = instrumentSwitchyard();
    try {
      await work(ops);
    } finally {
      uninstall();
    }
  };
}

async function run(): Promise<BenchResult[]> {
  let handled = 0;
  const router = new CommandRouter();
  router.route(Register).to(async () => {
    handled++;
  });
  const commandBus = new CommandBus();
  commandBus.use(router);
  const messages = Array.from({ length: CORE_OPS }, (_, n) => Register.create({ n }));
  const dispatchAll = async (ops: number): Promise<void> => {
    for (let index = 0; index < ops; index++) await commandBus.dispatch(messages[index % messages.length]!);
  };
  const core = await compareThroughput({
    name: 'opentelemetry: core command dispatch, plugin + no-op tracer',
    subject: { name: 'instrumented', run: instrumented(dispatchAll) },
    baseline: { name: 'no instrumentation', run: dispatchAll },
    ops: CORE_OPS,
    rounds: 9,
  });
  if (handled === 0) throw new Error('no command was handled');

  const receiver = receivingBuses();
  const consumer = new HttpConsumer({ commandBus: receiver.commandBus, queryBus: receiver.queryBus });
  const { url } = await consumer.start();
  const producer = new HttpProducer({ url, connections: 16 });
  const sending = sendingBuses(producer);
  const roundTrips = lanes((n) => sending.commandBus.dispatch(Ping.create({ n })), 64);
  try {
    const http = await compareThroughput({
      name: 'opentelemetry: HTTP command round trip, plugin + no-op tracer',
      subject: { name: 'instrumented', run: instrumented(roundTrips) },
      baseline: { name: 'no instrumentation', run: roundTrips },
      ops: HTTP_OPS,
      // Loopback HTTP varies more from round to round than the difference measured here.
      rounds: 11,
    });
    return [core, http];
  } finally {
    await producer.close();
    await consumer.close();
  }
}

export const scenario: BenchScenario = { id: 'opentelemetry', run };
