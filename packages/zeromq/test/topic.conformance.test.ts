import { describePubSubConformance, freePort, sleep, waitFor } from '@switchyard/conformance';
import { ZeroMQTopicPublisher, ZeroMQTopicSubscriber } from '../src/index.ts';

/** Each test topic gets a loopback port of its own; its subscribers are kept to wait for them. */
const topics = new Map<string, { endpoint: string; subscribers: ZeroMQTopicSubscriber[] }>();
async function topicOf(name: string) {
  let topic = topics.get(name);
  if (topic === undefined) {
    topic = { endpoint: `tcp://127.0.0.1:${await freePort()}`, subscribers: [] };
    topics.set(name, topic);
  }
  return topic;
}

/** Time for a subscription to travel from a connected subscriber to the publisher (slow joiner). */
const SUBSCRIPTION_MS = 200;

describePubSubConformance({
  name: 'zeromq topic',
  durable: false, // at most once: subscribers receive while connected
  competing: false, // every connected subscriber gets every event, whatever its group
  settleMs: 300, // a subscriber that joins a running publisher: connect + subscribe
  async createPublisher(name, { sendTimeoutMs: _never, ...settings }) {
    const topic = await topicOf(name);
    const publisher = new ZeroMQTopicPublisher({ endpoint: topic.endpoint, ...settings });
    // The suite starts its subscribers first and publishes right after starting the publisher: bind
    // here and let the subscribers (re)connect and subscribe first — ZeroMQ's slow joiner.
    await publisher.start();
    await waitFor(() => topic.subscribers.every((subscriber) => subscriber.connected > 0), 10_000);
    await sleep(SUBSCRIPTION_MS);
    return publisher;
  },
  async createSubscriber(name, settings) {
    const topic = await topicOf(name);
    const subscriber = new ZeroMQTopicSubscriber({ endpoint: topic.endpoint, ...settings });
    topic.subscribers.push(subscriber);
    return subscriber;
  },
  async cleanup(name) {
    topics.delete(name);
  },
});
