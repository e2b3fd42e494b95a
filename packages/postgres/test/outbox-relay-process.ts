/**
 * A relay in a process of its own, for outbox-crash.test.ts: forwards the outbox of `SCHEMA` to a
 * bus whose listener records every delivery in `<schema>.deliveries` (one row per delivery, so
 * duplicates show). Prints `ready` once started; closes on SIGTERM.
 */
import { defineEvent, EventBus, EventRouter } from '@switchyard/core';
import pg from 'pg';
import { OutboxRelay } from '../src/index.ts';

const schema = process.env.SCHEMA!;
const pool = new pg.Pool({ connectionString: process.env.PG_URL, max: 8 });
pool.on('error', () => undefined);
const Numbered = defineEvent<{ n: number }>('Numbered');

const router = new EventRouter();
router.route(Numbered).to(async (event) => {
  await pool.query(`INSERT INTO "${schema}".deliveries (message_id, stream, n) VALUES ($1, $2, $3)`, [
    event.id,
    event.metadata['switchyard.stream'],
    event.payload.n,
  ]);
});
const target = new EventBus();
target.use(router);

const relay = new OutboxRelay({
  connection: pool,
  schema,
  targets: { deliveries: target },
  concurrency: 8,
  batchSize: 50,
});
await relay.start();
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void relay.close().then(() => pool.end());
});
