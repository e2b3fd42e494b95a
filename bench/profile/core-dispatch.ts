/**
 * Micro-script for attributing the cost of the core rows of `pnpm bench core` (not a bench: no
 * baseline, no timing you should quote). Usage:
 *
 *   node --experimental-strip-types --conditions=switchyard-source bench/profile/core-dispatch.ts <mode> <ops>
 *
 * Modes: create-command, command, command-prebuilt, create-query, query, event. Per-op instruction
 * counts: run it under `valgrind --tool=callgrind` with two op counts and divide the difference of the
 * totals by the difference of the counts (start-up cancels out). Or `node --cpu-prof` for shares.
 */
import {
  CommandBus,
  CommandRouter,
  defineCommand,
  defineEvent,
  defineQuery,
  EventBus,
  EventRouter,
  QueryBus,
  QueryRouter,
} from '@switchyard/core';

const [mode = 'command', opsArg = '100000'] = process.argv.slice(2);
const OPS = Number(opsArg);
const WARMUP = Number(process.env.WARMUP ?? 200_000);

let handled = 0;
const handle = async (_payload: { n: number }) => {
  handled++;
};
const find = async (payload: { n: number }) => ({ doubled: payload.n * 2 });
const listen = async (_payload: { n: number }) => {
  handled++;
};

const Register = defineCommand<{ n: number }>('Register');
const Double = defineQuery<{ n: number }, { doubled: number }>('Double');
const Registered = defineEvent<{ n: number }>('Registered');
const commands = new CommandRouter();
commands.route(Register).to((command) => handle(command.payload));
const queries = new QueryRouter();
queries.route(Double).to((query) => find(query.payload));
const events = new EventRouter();
events
  .route(Registered)
  .to((event) => listen(event.payload))
  .andTo((event) => listen(event.payload))
  .andTo((event) => listen(event.payload));
const commandBus = new CommandBus({ correlation: false });
commandBus.use(commands);
const queryBus = new QueryBus({ correlation: false });
queryBus.use(queries);
const eventBus = new EventBus({ correlation: false });
eventBus.use(events);

const prebuilt = Register.create({ n: 1 });
let sink: unknown;
const modes: Record<string, (n: number) => unknown> = {
  'create-command': (n) => {
    sink = Register.create({ n });
  },
  command: (n) => commandBus.dispatch(Register.create({ n })),
  'command-prebuilt': () => commandBus.dispatch(prebuilt),
  'create-query': (n) => {
    sink = Double.create({ n });
  },
  query: (n) => queryBus.dispatch(Double.create({ n })),
  event: (n) => eventBus.dispatch(Registered.create({ n })),
};
const once = modes[mode];
if (once === undefined) throw new Error(`unknown mode ${mode}; one of ${Object.keys(modes).join(', ')}`);

async function loop(ops: number): Promise<void> {
  for (let n = 0; n < ops; n++) await once!(n);
}
await loop(WARMUP);
const started = process.hrtime.bigint();
await loop(OPS);
const ns = Number(process.hrtime.bigint() - started) / OPS;
if (process.env.QUIET === undefined)
  console.log(
    `${mode}: ${ns.toFixed(0)} ns/op (${handled} handled, created one: ${String(sink !== undefined)})`,
  );
