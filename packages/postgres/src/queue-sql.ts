import { createHash } from 'node:crypto';
import type { QueryConfig } from 'pg';
import { quoteSchema } from './migrate.ts';

const names = new Map<string, string>();

/**
 * A statement prepared once per connection (named after a hash of its text), so the hot path skips
 * parsing and planning. Needs session pooling, as `LISTEN` does.
 */
export function prepared(text: string, values: unknown[]): QueryConfig {
  let name = names.get(text);
  if (name === undefined) {
    name = `switchyard_${createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return { name, text, values };
}

/** The schema version the queue needs (`001_queue.sql`; `004_dedupe.sql` adds dedupe keys). */
export const QUEUE_VERSION = 4;

/** The NOTIFY channels of a schema's queues. */
export function channels(schema: string): { readonly wake: string; readonly cancel: string } {
  return { wake: `${schema}_queue`, cancel: `${schema}_cancel` };
}

/**
 * Appended to the `WHERE` of the consumer's statements (take, lease, delete, retry, bury, reclaim,
 * reply): they commit without waiting for the WAL flush. Safe for at-least-once — a crash of the
 * server can only undo the last of them: an undone take or delete means the message is delivered
 * again, an undone reply a query that times out. An enqueue (the producer's INSERT) stays a
 * synchronous commit.
 */
const ASYNC_COMMIT = `(SELECT set_config('synchronous_commit', 'off', true)) IS NOT NULL`;

/** The SQL the producer, consumer and dead letters run, for one schema. */
export function queueSql(schema: string) {
  const table = `${quoteSchema(schema)}.queue_messages`;
  const replies = `${quoteSchema(schema)}.queue_replies`;
  const { wake, cancel } = channels(schema);
  return {
    /**
     * $1 queue, $2 backoff type, $3 backoff ms, $4 delay ms per message, $5.. arrays (one element per
     * message), $11 dedupe keys (null: none); notifies the queue's consumers. A message whose id is
     * queued already, or whose dedupe key a live message holds, is dropped (`ON CONFLICT DO NOTHING`
     * covers both unique indexes).
     */
    insert: `WITH inserted AS (
        INSERT INTO ${table}
          (queue, message_id, name, envelope, encoding, reply_to, max_attempts, backoff_type, backoff_ms, run_at,
           dedupe_key)
        SELECT $1, m.id, m.name, m.envelope, m.encoding, m.reply_to, m.attempts, $2, $3,
               now() + m.delay_ms * interval '1 millisecond', m.dedupe_key
        FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::integer[],
                    $4::double precision[], $11::text[])
          AS m(id, name, envelope, encoding, reply_to, attempts, delay_ms, dedupe_key)
        ON CONFLICT DO NOTHING
        RETURNING 1)
      SELECT pg_notify('${wake}', $1) WHERE EXISTS (SELECT 1 FROM inserted)`,
    /** A query nobody waits for: dropped if not taken yet, its running handler told otherwise. */
    cancel: `WITH dropped AS (
        DELETE FROM ${table} WHERE queue = $1 AND message_id = $2 AND state = 'ready' RETURNING 1)
      SELECT pg_notify('${cancel}', $2) WHERE NOT EXISTS (SELECT 1 FROM dropped)`,
    /** $1 queue, $2 limit, $3 lease ms, $4 consumer id. */
    fetch: `WITH next AS (
        SELECT id FROM ${table}
        WHERE queue = $1 AND state = 'ready' AND run_at <= now() AND ${ASYNC_COMMIT}
        ORDER BY run_at, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED)
      UPDATE ${table} AS q
      SET state = 'running', attempts_made = q.attempts_made + 1, locked_by = $4,
          locked_until = now() + make_interval(secs => $3::double precision / 1000)
      FROM next WHERE q.id = next.id
      RETURNING q.id, q.message_id, q.name, q.envelope, q.encoding, q.reply_to, q.attempts_made,
                q.max_attempts, q.backoff_type, q.backoff_ms`,
    /** ms until the next ready message of queue $1 is due, or null. */
    nextDue: `SELECT GREATEST(0, EXTRACT(EPOCH FROM min(run_at) - now()) * 1000)::double precision AS due_ms
      FROM ${table} WHERE queue = $1 AND state = 'ready'`,
    /** $1 ids, $2 consumer id. */
    complete: `DELETE FROM ${table} WHERE id = ANY($1::bigint[]) AND locked_by = $2 AND ${ASYNC_COMMIT}`,
    /** $1 id, $2 consumer id, $3 delay ms, $4 reason. */
    retry: `UPDATE ${table}
      SET state = 'ready', run_at = now() + make_interval(secs => $3::double precision / 1000),
          locked_by = NULL, locked_until = NULL, failed_reason = $4
      WHERE id = $1 AND locked_by = $2 AND ${ASYNC_COMMIT}`,
    /** $1 id, $2 consumer id, $3 reason. */
    bury: `UPDATE ${table}
      SET state = 'dead', failed_reason = $3, failed_at = now(), locked_by = NULL, locked_until = NULL,
          dedupe_key = NULL
      WHERE id = $1 AND locked_by = $2 AND ${ASYNC_COMMIT}`,
    /** $1 ids, $2 consumer id, $3 lease ms. */
    extend: `UPDATE ${table} SET locked_until = now() + make_interval(secs => $3::double precision / 1000)
      WHERE id = ANY($1::bigint[]) AND locked_by = $2 AND state = 'running' AND ${ASYNC_COMMIT}`,
    /**
     * Stalled messages of queue $1 (lease expired: their consumer died or hung) go back to ready, or
     * to the dead letters when their attempts are used up; notifies when some became ready.
     */
    reclaim: `WITH stalled AS (
        SELECT id FROM ${table}
        WHERE queue = $1 AND state = 'running' AND locked_until < now() AND ${ASYNC_COMMIT}
        FOR UPDATE SKIP LOCKED),
      moved AS (
        UPDATE ${table} AS q
        SET state = CASE WHEN q.attempts_made >= q.max_attempts THEN 'dead' ELSE 'ready' END,
            run_at = now(), locked_by = NULL, locked_until = NULL,
            failed_reason = 'SWITCHYARD_TRANSPORT_ERROR: its consumer stopped before finishing it (lease expired)',
            failed_at = CASE WHEN q.attempts_made >= q.max_attempts THEN now() ELSE q.failed_at END,
            dedupe_key = CASE WHEN q.attempts_made >= q.max_attempts THEN NULL ELSE q.dedupe_key END
        FROM stalled WHERE q.id = stalled.id
        RETURNING q.state)
      SELECT count(*) FILTER (WHERE state = 'ready')::integer AS ready,
             count(*) FILTER (WHERE state = 'dead')::integer AS dead,
             pg_notify('${wake}', $1) AS notified
      FROM moved HAVING count(*) FILTER (WHERE state = 'ready') > 0`,
    /** Replies nobody read within $1 ms (their producer is gone). */
    dropStaleReplies: `DELETE FROM ${replies} WHERE created_at < now() - make_interval(secs => $1::double precision / 1000)`,
    /** $1 channels, $2 payloads: replies sent together. */
    notifyReplies: `SELECT pg_notify(r.channel, r.payload) FROM unnest($1::text[], $2::text[]) AS r(channel, payload)
      WHERE ${ASYNC_COMMIT}`,
    /** $1 channel, $2 payload, $3 encoding: a reply too large for NOTIFY. */
    storeReply: `WITH stored AS (
        INSERT INTO ${replies} (reply_to, payload, encoding) VALUES ($1, $2, $3) RETURNING id)
      SELECT pg_notify($1, 'r' || id) FROM stored WHERE ${ASYNC_COMMIT}`,
    /** $1 id. */
    takeReply: `DELETE FROM ${replies} WHERE id = $1 RETURNING payload, encoding`,
    table,
  };
}

/** The statements of one schema. */
export type QueueSql = ReturnType<typeof queueSql>;

/** A row the consumer fetched. */
export interface FetchedRow {
  readonly id: string;
  readonly message_id: string;
  readonly name: string;
  readonly envelope: string;
  readonly encoding: string | null;
  readonly reply_to: string | null;
  readonly attempts_made: number;
  readonly max_attempts: number;
  readonly backoff_type: 'fixed' | 'exponential';
  readonly backoff_ms: number;
}
