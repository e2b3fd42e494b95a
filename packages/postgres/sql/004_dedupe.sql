-- @switchyard/postgres 004: per-message deduplication (dispatch(message, { dedupeKey })).
-- Applied by migrate() (src/migrate.ts), which replaces {{schema}} with the quoted schema and
-- {{schema_name}} with the bare name. Never edit an applied file: add 00N_<name>.sql instead.

-- The dispatch's dedupeKey while the message waits or runs. A handled message is deleted and a
-- dead one has it cleared, so a key blocks a second message only while the first is live.
ALTER TABLE {{schema}}.queue_messages ADD COLUMN dedupe_key text;

-- One live message per key and queue; the producer's INSERT … ON CONFLICT DO NOTHING drops a
-- duplicate. Rows without a key are not in the index (it costs them nothing).
CREATE UNIQUE INDEX queue_messages_dedupe ON {{schema}}.queue_messages (queue, dedupe_key)
  WHERE dedupe_key IS NOT NULL;
