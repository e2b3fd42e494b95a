/** What a Postgres producer or consumer reaches: one queue in one schema. Their `start()` resolves with it. */
export interface PostgresAddress {
  /** The schema the queue tables live in. */
  readonly schema: string;
  /** The queue name. */
  readonly queueName: string;
}
