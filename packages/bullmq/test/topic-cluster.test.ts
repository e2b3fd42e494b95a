/**
 * BullMQ topics over the Redis Cluster CI starts (.ci/run: `bash scripts/redis-cluster.sh start`):
 * the pub/sub conformance section and a three-group fan-out, with a hash-tag prefix so a topic's
 * stream, dead letters and retry errors share one slot. Skipped, saying why, when no cluster
 * answers — except under CI, where a missing cluster fails.
 */
import { describePubSubConformance } from '@switchyard/conformance';
import { defineEvent, EventBus, EventRouter } from '@switchyard/core';
import type { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { TopicPublisher, TopicSubscriber } from '../src/index.ts';
import {
  closeCluster,
  clusterConnection,
  clusterUnavailable,
  deleteClusterKeys,
  hashTagPrefix,
  REDIS_CLUSTER_LABEL,
} from './redis-cluster-kit.ts';
import { sleep, waitFor } from './redis-test-kit.ts';

const unavailable = await clusterUnavailable();
const inCI = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const title = `BullMQ topics over Redis Cluster (${REDIS_CLUSTER_LABEL})`;

if (unavailable !== undefined) {
  describe(title, () => {
    if (inCI) {
      it('has the Redis Cluster CI starts (.ci/run: bash scripts/redis-cluster.sh start)', () => {
        throw new Error(`No usable Redis Cluster under CI: ${unavailable}`);
      });
    } else {
      it.skip(`skipped: ${unavailable} — start one with bash scripts/redis-cluster.sh start`, () =>
        undefined);
    }
  });
} else {
  const prefix = hashTagPrefix('topic');
  const clusters: Cluster[] = [];
  /** A cluster client per publisher or subscriber, as the README's cluster section sets them up. */
  const cluster = (role: 'producer' | 'worker'): Cluster => {
    const client = clusterConnection(role);
    clusters.push(client);
    return client;
  };
  afterAll(async () => {
    for (const client of clusters) await closeCluster(client);
    await deleteClusterKeys(prefix);
  });

  describePubSubConformance({
    name: `bullmq topic over Redis Cluster`,
    durable: true,
    competing: true,
    async createPublisher(topic, settings) {
      return new TopicPublisher({ topic, prefix, connection: cluster('producer'), ...settings });
    },
    async createSubscriber(topic, settings) {
      return new TopicSubscriber({
        topic,
        prefix,
        connection: cluster('worker'),
        concurrency: 50,
        ...settings,
      });
    },
  });

  describe(title, () => {
    it('three groups each get every one of 1,000 events once', { timeout: 60_000 }, async () => {
      const Tick = defineEvent<{ n: number }>('ClusterTick');
      const received = new Map<string, number[]>();
      const subscribers = ['billing', 'shipping', 'audit'].map((group) => {
        const got: number[] = [];
        received.set(group, got);
        const router = new EventRouter();
        router.route(Tick).to((event) => void got.push(event.payload.n));
        const eventBus = new EventBus();
        eventBus.use(router);
        return new TopicSubscriber({
          topic: 'ticks',
          group,
          events: [Tick.name],
          prefix,
          connection: cluster('worker'),
          concurrency: 32,
          eventBus,
        });
      });
      const publisher = new TopicPublisher({ topic: 'ticks', prefix, connection: cluster('producer') });
      try {
        await Promise.all(subscribers.map((subscriber) => subscriber.start()));
        await Promise.all(Array.from({ length: 1_000 }, (_, n) => publisher.produce(Tick.create({ n }))));
        await waitFor(
          () => [...received.values()].every((got) => got.length >= 1_000),
          30_000,
          'every group',
        );
        await sleep(300);
        for (const [group, got] of received) {
          expect(got.length, group).toBe(1_000);
          expect(new Set(got).size, group).toBe(1_000);
        }
      } finally {
        await publisher.close();
        await Promise.all(subscribers.map((subscriber) => subscriber.close()));
      }
    });
  });
}
