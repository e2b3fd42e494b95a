/**
 * What a BullMQ producer or consumer reaches: one queue under one key prefix. Their `start()`
 * resolves with it.
 */
export interface BullMQAddress {
  /** The BullMQ queue name. */
  readonly queueName: string;
  /** The BullMQ key prefix (`'bull'` unless set). */
  readonly prefix: string;
}
