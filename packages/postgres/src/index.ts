/**
 * @switchyard/postgres — a durable queue on PostgreSQL and a transactional outbox.
 *
 * @module
 */
export {};
