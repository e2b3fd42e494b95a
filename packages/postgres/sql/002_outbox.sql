-- @switchyard/postgres 002: the transactional outbox.
-- Applied by migrate() (src/migrate.ts), which replaces {{schema}} with the quoted schema and
-- {{schema_name}} with the bare name. Never edit an applied file: add 00N_<name>.sql instead.

-- One row per message committed by an application transaction and not yet forwarded. The relay
-- deletes a row once its target producer took the message, or moves it to outbox_dead_letters.
--
-- Order: writers take a transaction-level advisory lock per (target, stream) before inserting (see
-- src/outbox/outbox-sql.ts), so within one stream `position` grows in commit order and a row that
-- becomes visible later always has a larger position than every row visible before it.
CREATE TABLE {{schema}}.outbox_messages (
  position      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  message_id    text        NOT NULL,
  name          text        NOT NULL,
  -- The relay's name of the producer (or bus) the message goes to.
  target        text        NOT NULL,
  -- The ordering key: metadata 'switchyard.stream' when the message has it, else its name.
  stream        text        NOT NULL,
  -- The codec's output; base64 of a binary codec's bytes when encoding = 'base64'.
  envelope      text        NOT NULL,
  encoding      text        CHECK (encoding IS NULL OR encoding = 'base64'),
  attempts_made integer     NOT NULL DEFAULT 0,
  -- Retry schedule: the stream's head is not forwarded before run_at.
  run_at        timestamptz NOT NULL DEFAULT now(),
  last_error    text,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- The relay walks the distinct (target, stream) pairs and reads each stream's head through it.
CREATE INDEX outbox_messages_stream_idx ON {{schema}}.outbox_messages (target, stream, position);

-- Messages whose target failed for good (attempts exhausted, or a failure that retrying cannot fix).
CREATE TABLE {{schema}}.outbox_dead_letters (
  position      bigint      PRIMARY KEY,
  message_id    text        NOT NULL,
  name          text        NOT NULL,
  target        text        NOT NULL,
  stream        text        NOT NULL,
  envelope      text        NOT NULL,
  encoding      text        CHECK (encoding IS NULL OR encoding = 'base64'),
  attempts_made integer     NOT NULL,
  failed_reason text        NOT NULL,
  failed_at     timestamptz NOT NULL DEFAULT now(),
  created_at    timestamptz NOT NULL
);

CREATE INDEX outbox_dead_letters_message_idx ON {{schema}}.outbox_dead_letters (message_id);
