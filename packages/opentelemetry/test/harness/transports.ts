import { BullMQConsumer, BullMQProducer } from '@switchyard/bullmq';
import {
  InMemoryChannel,
  InMemoryConsumer,
  InMemoryProducer,
  type MessageProducer,
  type ReceiverOptions,
} from '@switchyard/core';
import { HttpConsumer, HttpProducer } from '@switchyard/http';
import { PostgresConsumer, PostgresProducer } from '@switchyard/postgres';
import { ZeroMQConsumer, ZeroMQProducer } from '@switchyard/zeromq';

export type TransportName = 'in-memory' | 'http' | 'zeromq' | 'bullmq' | 'postgres';

export interface Closable {
  close(): Promise<void>;
}

/** Builds consumers and producers of one transport, addressed by a string that can cross processes. */
export interface TransportKit {
  readonly name: TransportName;
  /** Starts a consumer for `buses`; `slot` names it (a BullMQ queue). Resolves with its address. */
  consumer(buses: ReceiverOptions, slot: string): Promise<{ address: string; consumer: Closable }>;
  producer(address: string): MessageProducer & Closable;
}

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The PostgreSQL schema of a run: its prefix as an identifier (the test migrates and drops it). */
export function schemaOf(prefix: string): string {
  return prefix.replace(/[^A-Za-z0-9_]/g, '_');
}

/** `prefix`: a key prefix unique to the run (BullMQ). */
export function transportKit(name: TransportName, prefix: string): TransportKit {
  switch (name) {
    case 'in-memory': {
      const channels = new Map<string, InMemoryChannel>();
      const channel = (slot: string) => {
        let found = channels.get(slot);
        if (found === undefined) {
          found = new InMemoryChannel();
          channels.set(slot, found);
        }
        return found;
      };
      return {
        name,
        async consumer(buses, slot) {
          const consumer = new InMemoryConsumer({ ...buses, channel: channel(slot) });
          await consumer.start();
          return { address: slot, consumer };
        },
        producer: (address) => new InMemoryProducer({ channel: channel(address) }),
      };
    }
    case 'http':
      return {
        name,
        async consumer(buses) {
          const consumer = new HttpConsumer({ ...buses, port: 0, host: '127.0.0.1' });
          const { url } = await consumer.start();
          return { address: url, consumer };
        },
        producer: (address) => new HttpProducer({ url: address, retry: false }),
      };
    case 'zeromq':
      return {
        name,
        async consumer(buses) {
          const consumer = new ZeroMQConsumer({
            ...buses,
            commandEndpoint: 'tcp://127.0.0.1:0',
            queryEndpoint: 'tcp://127.0.0.1:0',
          });
          const { commands, queries } = await consumer.start();
          return { address: `${commands[0]} ${queries[0]}`, consumer };
        },
        producer: (address) => {
          const [commandEndpoint, queryEndpoint] = address.split(' ');
          return new ZeroMQProducer({ commandEndpoint, queryEndpoint });
        },
      };
    case 'bullmq':
      return {
        name,
        async consumer(buses, slot) {
          const consumer = new BullMQConsumer({ ...buses, queueName: slot, prefix, connection: REDIS_URL });
          await consumer.start();
          return { address: slot, consumer };
        },
        producer: (address) =>
          new BullMQProducer({ queueName: address, prefix, connection: REDIS_URL, attempts: 1 }),
      };
    case 'postgres':
      return {
        name,
        async consumer(buses, slot) {
          const consumer = new PostgresConsumer({
            ...buses,
            queueName: slot,
            schema: schemaOf(prefix),
            connection: PG_URL,
          });
          await consumer.start();
          return { address: slot, consumer };
        },
        producer: (address) =>
          new PostgresProducer({
            queueName: address,
            schema: schemaOf(prefix),
            connection: PG_URL,
            attempts: 1,
          }),
      };
  }
}
