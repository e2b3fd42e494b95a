/**
 * @switchyard/postgres — a durable queue on PostgreSQL and a transactional outbox.
 *
 * @module
 */
export type { PgConnection } from './connection.ts';
export { type DeadLetter, DeadLetters, type DeadLettersOptions } from './dead-letters.ts';
export {
  checkSchemaName,
  DEFAULT_SCHEMA,
  listMigrations,
  MIGRATIONS_TABLE,
  type MigrateOptions,
  type MigrateResult,
  type Migration,
  migrate,
  requireMigrated,
} from './migrate.ts';
export {
  type OutboxDeadLetter,
  OutboxDeadLetters,
  type OutboxDeadLettersOptions,
} from './outbox/outbox-dead-letters.ts';
export { OUTBOX_STREAM } from './outbox/outbox-envelope.ts';
export type { KyselyLike, OutboxTransaction, SqlExecutor } from './outbox/outbox-executor.ts';
export { OutboxProducer } from './outbox/outbox-producer.ts';
export { OutboxRelay, type OutboxRelayOptions, type RelayBatchResult } from './outbox/outbox-relay.ts';
export type { OutboxBus, OutboxTarget, OutboxTargets } from './outbox/outbox-target.ts';
export { PostgresOutbox, type PostgresOutboxOptions } from './outbox/postgres-outbox.ts';
export type { PostgresAddress } from './postgres-address.ts';
export { PostgresConsumer, type PostgresConsumerOptions } from './postgres-consumer.ts';
export { PostgresProducer, type PostgresProducerOptions } from './postgres-producer.ts';
export { type PostgresTopicOptions, postgresTopic } from './postgres-topic.ts';
export {
  type PostgresTopicAddress,
  PostgresTopicPublisher,
  type PostgresTopicPublisherOptions,
} from './postgres-topic-publisher.ts';
export { checkTopicName, topicQueueName } from './postgres-topic-sql.ts';
export {
  PostgresTopicSubscriber,
  type PostgresTopicSubscriberOptions,
  type UnsubscribeResult,
  unsubscribeTopicGroup,
} from './postgres-topic-subscriber.ts';
export { type PostgresTransportOptions, postgresTransport } from './postgres-transport.ts';
