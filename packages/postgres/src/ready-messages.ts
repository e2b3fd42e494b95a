import { JsonCodec, type MessageCodec, type StoredMessage, type StoredMessages } from '@switchyard/core';
import { QueueRows, type QueueRowsOptions } from './queue-rows.ts';
import { rowEnvelope } from './row-envelope.ts';

/** Options of {@link ReadyMessages}. */
export interface ReadyMessagesOptions extends QueueRowsOptions {
  /** Decodes the envelopes; use the producer's codec. @default new JsonCodec() */
  readonly codec?: MessageCodec | undefined;
}

interface ReadyRow {
  readonly message_id: string;
  readonly name: string;
  readonly envelope: string;
  readonly encoding: string | null;
  readonly created_at: Date;
}

const COLUMNS = 'message_id, name, envelope, encoding, created_at';

/**
 * The messages waiting (state `ready`) in a PostgreSQL queue that nobody consumes (core's
 * `StoredMessages`): what lets a PostgreSQL queue be `createSwitchyard`'s dead-letter sink.
 * Connects on first use.
 */
export class ReadyMessages implements StoredMessages {
  readonly #rows: QueueRows;
  readonly #codec: MessageCodec;

  constructor(options: ReadyMessagesOptions) {
    this.#rows = new QueueRows('ReadyMessages', options, 'ready', 'id DESC');
    this.#codec = options.codec ?? new JsonCodec();
  }

  count(): Promise<number> {
    return this.#rows.count();
  }

  async list(offset = 0, limit = 100): Promise<StoredMessage[]> {
    return (await this.#rows.list<ReadyRow>(COLUMNS, offset, limit)).map((row) => this.#toStored(row));
  }

  async get(id: string): Promise<StoredMessage | undefined> {
    const row = await this.#rows.get<ReadyRow>(COLUMNS, id);
    return row === undefined ? undefined : this.#toStored(row);
  }

  remove(id?: string): Promise<number> {
    return this.#rows.remove(id);
  }

  close(): Promise<void> {
    return this.#rows.close();
  }

  #toStored(row: ReadyRow): StoredMessage {
    return {
      id: row.message_id,
      name: row.name,
      ...rowEnvelope(this.#codec, row),
      storedAt: row.created_at,
    };
  }
}
