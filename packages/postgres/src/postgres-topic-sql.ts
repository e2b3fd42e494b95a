import { ConfigurationError } from '@switchyard/core';
import { quoteSchema } from './migrate.ts';
import { channels } from './queue-sql.ts';

/** The schema version topics need (`003_topics.sql`). */
export const TOPIC_VERSION = 3;

const TOPIC = /^[^\s/]{1,90}$/;

/** Checks a topic name: 1 to 90 characters, no `/` or whitespace. */
export function checkTopicName(component: string, topic: unknown): string {
  if (typeof topic !== 'string' || !TOPIC.test(topic)) {
    throw new ConfigurationError(
      `${component}: topic must be 1–90 characters without "/" or whitespace, got ${JSON.stringify(topic)}`,
    );
  }
  return topic;
}

/**
 * The queue (in `queue_messages`) of a topic's subscriber group: `topic/<topic>/<group>`. Pass it as
 * `queueName` to `DeadLetters` to manage the group's dead letters.
 *
 * @example
 * topicQueueName('orders', 'billing'); // 'topic/orders/billing'
 */
export function topicQueueName(topic: string, group: string): string {
  return `topic/${topic}/${group}`;
}

/**
 * Core's event patterns (`eventMatcher`: a name matches itself, `*` any run of characters) as SQL
 * `LIKE` patterns with the default escape `\`: `%`, `_` and `\` are escaped, `*` becomes `%`.
 */
export function likePatterns(events: readonly string[]): string[] {
  return events.map((event) =>
    event
      .split('*')
      .map((part) => part.replace(/[\\%_]/g, (char) => `\\${char}`))
      .join('%'),
  );
}

/** The SQL of topics, for one schema. */
export function topicSql(schema: string) {
  const subscriptions = `${quoteSchema(schema)}.topic_subscriptions`;
  const queue = `${quoteSchema(schema)}.queue_messages`;
  const { wake } = channels(schema);
  return {
    /**
     * Publishes a batch: each event is copied into the queue of every group of topic $1 subscribed
     * now whose patterns match its name, with the group's retry policy; each group's consumers are
     * notified once. $2 ids, $3 names, $4 envelopes, $5 encodings, $6 delays in ms (one element per
     * event). An event id published twice is queued once per group.
     */
    publish: `WITH inserted AS (
        INSERT INTO ${queue}
          (queue, message_id, name, envelope, encoding, max_attempts, backoff_type, backoff_ms, run_at)
        SELECT s.queue, m.id, m.name, m.envelope, m.encoding, s.max_attempts, s.backoff_type, s.backoff_ms,
               now() + m.delay_ms * interval '1 millisecond'
        FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::double precision[])
            WITH ORDINALITY AS m(id, name, envelope, encoding, delay_ms, position)
          JOIN ${subscriptions} AS s
            ON s.topic = $1 AND EXISTS (SELECT 1 FROM unnest(s.patterns) AS p(pattern) WHERE m.name LIKE p.pattern)
        ORDER BY m.position
        ON CONFLICT (queue, message_id) DO NOTHING
        RETURNING queue)
      SELECT pg_notify('${wake}', q.queue) FROM (SELECT DISTINCT queue FROM inserted) AS q`,
    /**
     * A group's subscription, created or brought up to date: $1 topic, $2 group, $3 queue, $4 events,
     * $5 LIKE patterns, $6 attempts, $7 backoff type, $8 backoff ms (left alone when unchanged).
     */
    subscribe: `INSERT INTO ${subscriptions} AS s
        (topic, group_name, queue, events, patterns, max_attempts, backoff_type, backoff_ms)
      VALUES ($1, $2, $3, $4::text[], $5::text[], $6, $7, $8)
      ON CONFLICT (topic, group_name) DO UPDATE
        SET events = EXCLUDED.events, patterns = EXCLUDED.patterns, max_attempts = EXCLUDED.max_attempts,
            backoff_type = EXCLUDED.backoff_type, backoff_ms = EXCLUDED.backoff_ms, updated_at = now()
        WHERE (s.events, s.max_attempts, s.backoff_type, s.backoff_ms)
          IS DISTINCT FROM (EXCLUDED.events, EXCLUDED.max_attempts, EXCLUDED.backoff_type, EXCLUDED.backoff_ms)`,
    /** Ends group $2's subscription to topic $1 and deletes its queued, running and dead messages. */
    unsubscribe: `WITH gone AS (
        DELETE FROM ${subscriptions} WHERE topic = $1 AND group_name = $2 RETURNING queue),
      dropped AS (
        DELETE FROM ${queue} WHERE queue = (SELECT queue FROM gone) RETURNING 1)
      SELECT (SELECT count(*) FROM gone)::integer AS subscriptions,
             (SELECT count(*) FROM dropped)::integer AS messages`,
    /** The groups subscribed to topic $1. */
    groups: `SELECT group_name, queue, events, max_attempts, backoff_type, backoff_ms, created_at, updated_at
      FROM ${subscriptions} WHERE topic = $1 ORDER BY group_name`,
  };
}
