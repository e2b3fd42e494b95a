import {
  ConfigurationError,
  type DeadLetterQueue,
  type DeadLetterRecord,
  JsonCodec,
  type MessageCodec,
  withLetterIds,
} from '@switchyard/core';
import { QueueRows, type QueueRowsOptions } from './queue-rows.ts';
import { channels } from './queue-sql.ts';
import { rowEnvelope } from './row-envelope.ts';

/** Options of {@link DeadLetters}: the queue whose dead letters to manage. */
export interface DeadLettersOptions extends QueueRowsOptions {
  /** Decodes the envelopes for {@link DeadLetter.message}; use the producer's codec. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

/** One dead message: what it carried and why it failed (core's `DeadLetterRecord`, named by its message id). */
export interface DeadLetter extends DeadLetterRecord {
  /** The message id (for a hand-inserted row, whatever its `message_id` says). Pass it to `replay`/`purge`. */
  readonly messageId: string;
}

interface DeadRow {
  readonly message_id: string;
  readonly name: string;
  readonly envelope: string;
  readonly encoding: string | null;
  readonly failed_reason: string | null;
  readonly attempts_made: number;
  readonly failed_at: Date | null;
}

const COLUMNS = 'message_id, name, envelope, encoding, failed_reason, attempts_made, failed_at';

/**
 * The dead letters of a Postgres queue: its rows in state `dead`. List them with their error, put
 * one or all back in the queue (attempts reset, the consumers woken), or purge them — the same API
 * as `@switchyard/bullmq`'s `DeadLetters`.
 *
 * @example
 * const deadLetters = new DeadLetters({ connection: pool, queueName: 'billing' });
 * for (const letter of await deadLetters.list()) console.log(letter.messageId, letter.name, letter.failedReason);
 * await deadLetters.replay(letter.messageId);
 * await deadLetters.purge();
 * await deadLetters.close();
 */
export class DeadLetters implements DeadLetterQueue<DeadLetter> {
  readonly #rows: QueueRows;
  readonly #wake: string;
  readonly #codec: MessageCodec;

  /** Checks the options; connects nothing — the first call does. */
  constructor(options: DeadLettersOptions) {
    if (options.connection === undefined) throw new ConfigurationError('DeadLetters: connection is required');
    this.#rows = new QueueRows('DeadLetters', options, 'dead', 'failed_at DESC, id DESC');
    this.#wake = channels(this.#rows.schema).wake;
    this.#codec = options.codec ?? new JsonCodec();
  }

  count(): Promise<number> {
    return this.#rows.count();
  }

  /** Dead letters, newest first, `limit` from `offset`. @param limit @default 100 */
  async list(offset = 0, limit = 100): Promise<DeadLetter[]> {
    return (await this.#rows.list<DeadRow>(COLUMNS, offset, limit)).map((row) => this.#toDeadLetter(row));
  }

  async get(messageId: string): Promise<DeadLetter | undefined> {
    const row = await this.#rows.get<DeadRow>(COLUMNS, messageId);
    return row === undefined ? undefined : this.#toDeadLetter(row);
  }

  /** Puts one dead letter back in the queue with its attempts reset. False when there is no such dead letter. */
  async replay(messageId: string): Promise<boolean> {
    return (await this.#replay('AND message_id = $2', [this.#rows.queueName, messageId])) === 1;
  }

  /** Puts every dead letter (up to `limit`) back in the queue with attempts reset; returns how many. */
  async replayAll(limit = Number.POSITIVE_INFINITY): Promise<number> {
    if (limit <= 0) return 0;
    if (limit === Number.POSITIVE_INFINITY) return this.#replay('', [this.#rows.queueName]);
    const { sql, queueName, newestFirst } = this.#rows;
    return this.#replay(
      `AND id IN (SELECT id FROM ${sql.table} WHERE queue = $1 AND state = 'dead' ORDER BY ${newestFirst} LIMIT $2)`,
      [queueName, Math.floor(limit)],
    );
  }

  async #replay(where: string, values: unknown[]): Promise<number> {
    const result = await (await this.#rows.db()).query<{ replayed: number }>(
      `WITH replayed AS (
         UPDATE ${this.#rows.sql.table}
         SET state = 'ready', attempts_made = 0, run_at = now(), failed_reason = NULL, failed_at = NULL
         WHERE queue = $1 AND state = 'dead' ${where}
         RETURNING 1)
       SELECT count(*)::integer AS replayed,
              CASE WHEN count(*) > 0 THEN pg_notify('${this.#wake}', $1) END AS notified
       FROM replayed`,
      values,
    );
    return result.rows[0]?.replayed ?? 0;
  }

  /** Deletes one dead letter (`messageId`) or all of them; returns how many were deleted. */
  purge(messageId?: string): Promise<number> {
    return this.#rows.remove(messageId);
  }

  /** Ends the pool this object opened (not one passed in). */
  close(): Promise<void> {
    return this.#rows.close();
  }

  #toDeadLetter(row: DeadRow): DeadLetter {
    return {
      messageId: row.message_id,
      name: row.name,
      failedReason: row.failed_reason ?? '',
      attemptsMade: row.attempts_made,
      failedAt: row.failed_at ?? undefined,
      ...rowEnvelope(this.#codec, row),
    };
  }
}

/**
 * A queue's {@link DeadLetters} as core's contract, each letter's `id` its message id: what
 * `postgresTransport` and `postgresTopic` offer `app.deadLetters`.
 */
export function identifiedDeadLetters(
  options: DeadLettersOptions,
): DeadLetterQueue<DeadLetter & { readonly id: string }> {
  return withLetterIds(new DeadLetters(options), (letter) => letter.messageId);
}
