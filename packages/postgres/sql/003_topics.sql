-- @switchyard/postgres 003: durable topics (publish-subscribe).
-- Applied by migrate() (src/migrate.ts), which replaces {{schema}} with the quoted schema and
-- {{schema_name}} with the bare name. Never edit an applied file: add 00N_<name>.sql instead.

-- One row per subscriber group of a topic, written (upserted) by the group's subscribers when they
-- start. A publisher's INSERT copies each event into the queue of every group subscribed at that
-- moment whose patterns match its name, so a group is an ordinary queue in queue_messages (read with
-- SKIP LOCKED, retried, dead-lettered like any other) and a new group starts from "now".
CREATE TABLE {{schema}}.topic_subscriptions (
  topic         text        NOT NULL,
  group_name    text        NOT NULL,
  -- The group's queue in queue_messages: 'topic/<topic>/<group>'.
  queue         text        NOT NULL UNIQUE,
  -- What the subscriber asked for: event names and '*' patterns.
  events        text[]      NOT NULL,
  -- The same as LIKE patterns ('*' -> '%', '%', '_' and '\' escaped), matched against the event name.
  patterns      text[]      NOT NULL,
  -- The group's retry policy, copied into each of its rows.
  max_attempts  integer     NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),
  backoff_type  text        NOT NULL DEFAULT 'exponential' CHECK (backoff_type IN ('fixed', 'exponential')),
  backoff_ms    integer     NOT NULL DEFAULT 1000 CHECK (backoff_ms >= 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, group_name)
);
