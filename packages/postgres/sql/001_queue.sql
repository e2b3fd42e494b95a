-- @switchyard/postgres 001: the durable queue.
-- Applied by migrate() (src/migrate.ts), which replaces {{schema}} with the quoted schema and
-- {{schema_name}} with the bare name. Never edit an applied file: add 00N_<name>.sql instead.

-- One row per message waiting, running or dead. A handled message is deleted.
CREATE TABLE {{schema}}.queue_messages (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue         text        NOT NULL,
  -- The message id: a message re-sent while its row exists is not queued twice.
  message_id    text        NOT NULL,
  name          text        NOT NULL,
  -- The codec's output; base64 of a binary codec's bytes when encoding = 'base64'.
  envelope      text        NOT NULL,
  encoding      text        CHECK (encoding IS NULL OR encoding = 'base64'),
  -- For a query: the producer's NOTIFY channel its reply goes to.
  reply_to      text,
  state         text        NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'running', 'dead')),
  attempts_made integer     NOT NULL DEFAULT 0,
  max_attempts  integer     NOT NULL DEFAULT 1 CHECK (max_attempts >= 1),
  -- Retry schedule: 'fixed' or 'exponential' from backoff_ms (exponential doubles per attempt).
  backoff_type  text        NOT NULL DEFAULT 'exponential' CHECK (backoff_type IN ('fixed', 'exponential')),
  backoff_ms    integer     NOT NULL DEFAULT 1000 CHECK (backoff_ms >= 0),
  run_at        timestamptz NOT NULL DEFAULT now(),
  -- The lease of a running message: past locked_until it is stalled and handed out again.
  locked_by     text,
  locked_until  timestamptz,
  failed_reason text,
  failed_at     timestamptz,
  created_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (queue, message_id)
);

-- What a consumer fetches: ready rows of its queue, oldest first.
CREATE INDEX queue_messages_ready ON {{schema}}.queue_messages (queue, run_at, id) WHERE state = 'ready';
-- Stalled-lease recovery.
CREATE INDEX queue_messages_running ON {{schema}}.queue_messages (queue, locked_until) WHERE state = 'running';
-- Dead letters, newest first.
CREATE INDEX queue_messages_dead ON {{schema}}.queue_messages (queue, failed_at DESC, id DESC) WHERE state = 'dead';

-- Query replies too large for a NOTIFY payload: the consumer stores the reply here and notifies
-- its id; the producer reads and deletes it.
CREATE TABLE {{schema}}.queue_replies (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  reply_to   text        NOT NULL,
  payload    text        NOT NULL,
  encoding   text        CHECK (encoding IS NULL OR encoding = 'base64'),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX queue_replies_created ON {{schema}}.queue_replies (created_at);
