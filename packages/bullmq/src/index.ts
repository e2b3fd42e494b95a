/**
 * @switchyard/bullmq — durable commands and events, and remote queries, over BullMQ/Redis.
 *
 * - {@link BullMQProducer}: core's producer on a BullMQ wire — adds jobs (job id = message id) and
 *   receives query replies on its own Redis pub/sub channel.
 * - {@link BullMQConsumer}: a BullMQ worker that runs each job through core's receive pipeline.
 * - {@link DeadLetters}: list, replay and purge the failed set.
 *
 * @example
 * import { BullMQConsumer, BullMQProducer } from '@switchyard/bullmq';
 * import { CommandBus, CommandRouter, defineCommand } from '@switchyard/core';
 *
 * const RegisterUser = defineCommand<{ email: string }>('RegisterUser');
 * const connection = 'redis://127.0.0.1:6379';
 *
 * // worker process
 * const workRouter = new CommandRouter();
 * workRouter.route(RegisterUser).to(async (cmd) => console.log('registering', cmd.payload.email));
 * const commandBus = new CommandBus();
 * commandBus.use(workRouter);
 * const consumer = new BullMQConsumer({ queueName: 'users', connection, commandBus });
 * await consumer.start();
 *
 * // sending process
 * const producer = new BullMQProducer({ queueName: 'users', connection });
 * const sendRouter = new CommandRouter();
 * sendRouter.route(RegisterUser).to(producer);
 *
 * @module
 */

export type { BullMQAddress } from './bullmq-address.ts';
export { BullMQConsumer, type BullMQConsumerOptions } from './bullmq-consumer.ts';
export { BullMQProducer, type BullMQProducerOptions } from './bullmq-producer.ts';
export { type BullMQTransportOptions, bullmqTransport } from './bullmq-transport.ts';
export { type DeadLetter, DeadLetters, type DeadLettersOptions } from './dead-letters.ts';
export type { JobData } from './job-data.ts';
export { toJobId } from './job-id.ts';
export type { RedisConnection } from './redis-connection.ts';
export {
  type TopicDeadLetter,
  TopicDeadLetters,
  type TopicDeadLettersOptions,
} from './topic-dead-letters.ts';
export type { TopicAddress } from './topic-keys.ts';
export { TopicPublisher, type TopicPublisherOptions } from './topic-publisher.ts';
export { TopicSubscriber, type TopicSubscriberOptions } from './topic-subscriber.ts';
export { type BullMQTopicOptions, bullmqTopic } from './topic-transport.ts';
