import { checkSchemaName, quoteSchema } from '../migrate.ts';

/** The migration version that creates the outbox tables (`sql/002_outbox.sql`). */
export const OUTBOX_MIGRATION = 2;

/**
 * The SQL of the outbox, for one schema: one place for every statement the writer, the relay and
 * the dead letters run, so the locking protocol can be read in one file.
 *
 * Locks (transaction-level advisory locks, two int4 keys; a hash collision between two streams
 * only makes them share a lock):
 * - writers take `(hashtext('<schema>.outbox.write'), hashtext(target/stream))` before inserting,
 *   so writers of one stream take positions in commit order (the lock is held until commit);
 * - a relay takes `(hashtext('<schema>.outbox.relay'), hashtext(target/stream))` with
 *   `pg_try_advisory_xact_lock` for every stream it forwards in a batch, so two relays never
 *   forward the same stream at once. The two keys differ: a relay never blocks a writer.
 */
export class OutboxSql {
  readonly schema: string;
  /** The NOTIFY channel writers signal on commit and relays LISTEN to. */
  readonly channel: string;
  readonly insertOne: string;
  readonly lockStreams: string;
  readonly insertMany: string;
  readonly claim: string;
  readonly read: string;
  readonly deleteDelivered: string;
  readonly bury: string;
  readonly retry: string;
  readonly nextRunAt: string;
  readonly deadCount: string;
  readonly deadList: string;
  readonly deadGet: string;
  readonly deadReplay: string;
  readonly notify: string;
  readonly deadPurgeOne: string;
  readonly deadPurgeAll: string;
  readonly pendingCount: string;

  /** @param notify whether writes `NOTIFY` the relays on commit (see `PostgresOutboxOptions.notify`). */
  constructor(schema: string, notify = true) {
    this.schema = checkSchemaName(schema);
    const q = quoteSchema(this.schema);
    const messages = `${q}.outbox_messages`;
    const dead = `${q}.outbox_dead_letters`;
    const writeKey = `hashtext('${this.schema}.outbox.write')`;
    const relayKey = `hashtext('${this.schema}.outbox.relay')`;
    this.channel = `${this.schema}_outbox`;

    // $1 target, $2 stream, $3 message id, $4 name, $5 envelope, $6 encoding: one message written
    // on its own (unbound: 'autocommit'). The lock is taken before the row draws its position (the
    // INSERT reads from the lock's row); the NOTIFY is delivered on commit only.
    this.insertOne = `WITH locked AS (
        SELECT pg_advisory_xact_lock(${writeKey}, hashtext($1::text || '/' || $2::text)) AS done
      ), inserted AS (
        INSERT INTO ${messages} (target, stream, message_id, name, envelope, encoding)
        SELECT $1, $2, $3, $4, $5, $6 FROM locked
        RETURNING position
      )
      SELECT ${notify ? `pg_notify('${this.channel}', '')` : 'position'} FROM inserted`;

    // A transaction's messages are written together just before it commits: first the writers'
    // locks of all its streams ($1 target/stream keys), in one global order (by lock key), so two
    // transactions never wait for each other in a cycle; then the rows, in dispatch order.
    this.lockStreams = `SELECT count(pg_advisory_xact_lock(${writeKey}, key))::int AS locked
      FROM (SELECT DISTINCT hashtext(k) AS key FROM unnest($1::text[]) AS k ORDER BY key) keys`;
    // $1 targets, $2 streams, $3 message ids, $4 names, $5 envelopes, $6 encodings.
    this.insertMany = `WITH inserted AS (
        INSERT INTO ${messages} (target, stream, message_id, name, envelope, encoding)
        SELECT target, stream, message_id, name, envelope, encoding
        FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])
          WITH ORDINALITY AS r(target, stream, message_id, name, envelope, encoding, ord)
        ORDER BY ord
        RETURNING position
      )
      SELECT ${notify ? `pg_notify('${this.channel}', '')` : 'count(*)'} FROM (SELECT 1 FROM inserted LIMIT 1) one`;

    // Claims up to $1 streams whose head is due, oldest head first, skipping streams another relay
    // holds, among at most $4 streams visited in (target, stream) order after the cursor
    // ($2 target, $3 stream; '' and '' for the start). The distinct pairs are walked through the
    // index (a loose index scan), so a claim costs at most $4 index probes however many streams
    // and messages are waiting; the relay moves the cursor on, so every stream gets its turn.
    // MATERIALIZED keeps the try-lock out of the sort: it runs only on the rows the LIMIT takes.
    // Returns the claimed streams (claimed = true) and the last stream visited (claimed = false)
    // with the number of streams visited.
    this.claim = `WITH RECURSIVE lanes AS (
        (SELECT target, stream, 1 AS n FROM ${messages}
         WHERE (target, stream) > ($2::text, $3::text)
         ORDER BY target, stream LIMIT 1)
        UNION ALL
        SELECT next.target, next.stream, lanes.n + 1 FROM lanes,
          LATERAL (SELECT m.target, m.stream FROM ${messages} m
                   WHERE (m.target, m.stream) > (lanes.target, lanes.stream)
                   ORDER BY m.target, m.stream LIMIT 1) next
        WHERE lanes.n < $4
      ), visited AS MATERIALIZED (
        SELECT * FROM lanes
      ), heads AS MATERIALIZED (
        SELECT visited.target, visited.stream, head.position FROM visited,
          LATERAL (SELECT m.position, m.run_at FROM ${messages} m
                   WHERE m.target = visited.target AND m.stream = visited.stream
                   ORDER BY m.position LIMIT 1) head
        WHERE head.run_at <= clock_timestamp()
        ORDER BY head.position
      ), claimed AS MATERIALIZED (
        SELECT target, stream FROM heads
        WHERE pg_try_advisory_xact_lock(${relayKey}, hashtext(target || '/' || stream))
        LIMIT $1
      )
      SELECT true AS claimed, target, stream, 0 AS visited FROM claimed
      UNION ALL
      (SELECT false, target, stream, n FROM visited ORDER BY n DESC LIMIT 1)`;

    // Reads up to $3 rows of each claimed stream, in position order. Run as its own statement
    // after the claim: its snapshot is taken after the locks were granted, so it never sees rows a
    // relay that held the lock before had already forwarded and deleted.
    this.read = `SELECT m.position::text AS position, m.message_id, m.name, m.target, m.stream,
        m.envelope, m.encoding, m.attempts_made, m.run_at <= clock_timestamp() AS due,
        m.created_at
      FROM unnest($1::text[], $2::text[]) AS claimed(target, stream),
        LATERAL (SELECT * FROM ${messages} o
                 WHERE o.target = claimed.target AND o.stream = claimed.stream
                 ORDER BY o.position LIMIT $3) m
      ORDER BY m.position`;

    this.deleteDelivered = `DELETE FROM ${messages} WHERE position = ANY($1::bigint[])`;

    // $1 positions, $2 reasons, $3 attempts made.
    this.bury = `WITH moved AS (
        DELETE FROM ${messages} WHERE position = ANY($1::bigint[]) RETURNING *
      )
      INSERT INTO ${dead} (position, message_id, name, target, stream, envelope, encoding,
                           attempts_made, failed_reason, created_at)
      SELECT moved.position, moved.message_id, moved.name, moved.target, moved.stream,
             moved.envelope, moved.encoding, failure.attempts, failure.reason, moved.created_at
      FROM moved JOIN unnest($1::bigint[], $2::text[], $3::int[]) AS failure(position, reason, attempts)
        ON failure.position = moved.position`;

    // $1 positions, $2 reasons, $3 attempts made, $4 delays in ms.
    this.retry = `UPDATE ${messages} AS m
      SET attempts_made = failure.attempts, last_error = failure.reason,
          run_at = clock_timestamp() + failure.delay * interval '1 millisecond'
      FROM unnest($1::bigint[], $2::text[], $3::int[], $4::float8[]) AS failure(position, reason, attempts, delay)
      WHERE m.position = failure.position`;

    // The earliest retry due after now, in ms from now (null when none is scheduled).
    this.nextRunAt = `SELECT extract(epoch FROM (min(run_at) - clock_timestamp())) * 1000 AS wait_ms
      FROM ${messages} WHERE run_at > clock_timestamp()`;

    this.pendingCount = `SELECT count(*)::int AS count FROM ${messages}`;

    const deadColumns = `position::text AS id, message_id, name, target, stream, envelope, encoding,
        attempts_made, failed_reason, failed_at`;
    this.deadCount = `SELECT count(*)::int AS count FROM ${dead}`;
    this.deadList = `SELECT ${deadColumns} FROM ${dead} ORDER BY failed_at DESC, position DESC OFFSET $1 LIMIT $2`;
    this.deadGet = `SELECT ${deadColumns} FROM ${dead} WHERE position = $1::bigint`;
    // Moves dead letters ($1 positions) back to the outbox as new rows at the end of their streams,
    // attempts reset, under the writers' locks (all taken, in lock-key order like a writer's, before
    // the first position is drawn: the INSERT sorts the locked rows, so it reads them all first).
    this.deadReplay = `WITH moved AS (
        DELETE FROM ${dead} WHERE position = ANY($1::bigint[]) RETURNING *
      ), locked AS (
        SELECT moved.*, pg_advisory_xact_lock(${writeKey}, hashtext(moved.target || '/' || moved.stream)) AS done
        FROM moved ORDER BY hashtext(moved.target || '/' || moved.stream)
      ), inserted AS (
        INSERT INTO ${messages} (target, stream, message_id, name, envelope, encoding, created_at)
        SELECT target, stream, message_id, name, envelope, encoding, created_at FROM locked
        ORDER BY position
        RETURNING position
      )
      SELECT count(*)::int AS count FROM inserted`;
    this.notify = `SELECT pg_notify('${this.channel}', '')`;
    this.deadPurgeOne = `DELETE FROM ${dead} WHERE position = $1::bigint`;
    this.deadPurgeAll = `DELETE FROM ${dead}`;
  }
}
