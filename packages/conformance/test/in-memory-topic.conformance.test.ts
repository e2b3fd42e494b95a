import { InMemoryConsumer, InMemoryTopic, InMemoryTopicPublisher } from '@switchyard/core';
import { describePubSubConformance } from '../src/index.ts';

// One topic object per test topic name, shared by its publisher and subscribers.
const topics = new Map<string, InMemoryTopic>();
const topicOf = (name: string): InMemoryTopic => {
  let topic = topics.get(name);
  if (topic === undefined) {
    topic = new InMemoryTopic();
    topics.set(name, topic);
  }
  return topic;
};

describePubSubConformance({
  name: 'in-memory topic',
  durable: false,
  competing: true,
  async createPublisher(topic, settings) {
    return new InMemoryTopicPublisher({ topic: topicOf(topic), ...settings });
  },
  async createSubscriber(topic, { group, events, ...settings }) {
    return new InMemoryConsumer({ channel: topicOf(topic).group(group, events), ...settings });
  },
  async cleanup(topic) {
    topics.delete(topic);
  },
});
