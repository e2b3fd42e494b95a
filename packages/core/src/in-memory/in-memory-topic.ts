import type { WireData } from '../codec/message-codec.ts';
import { checkSubscription, eventMatcher } from '../transport/subscription.ts';
import { InMemoryChannel } from './in-memory-channel.ts';

/** One subscriber group: its channel (its consumers take turns) and the events it wants. */
interface Group {
  readonly channel: InMemoryChannel;
  readonly patterns: string[];
  wanted: (name: string) => boolean;
}

/**
 * An in-process topic: each subscriber group has an {@link InMemoryChannel} whose consumers compete
 * (take turns), and a published event goes to every group that wants it and has a consumer
 * listening. Not durable: a group receives only while one of its consumers listens.
 *
 * @example
 * const topic = new InMemoryTopic();
 * const consumer = new InMemoryConsumer({ channel: topic.group('billing', ['User*']), eventBus });
 */
export class InMemoryTopic {
  readonly #groups = new Map<string, Group>();

  /** The channel of subscriber group `group`, created on first use; `events` (names, `*` patterns) are added to what it wants. */
  group(group: string, events: readonly string[]): InMemoryChannel {
    checkSubscription(group, events);
    let entry = this.#groups.get(group);
    if (entry === undefined) {
      entry = { channel: new InMemoryChannel(), patterns: [], wanted: () => false };
      this.#groups.set(group, entry);
    }
    entry.patterns.push(...events);
    entry.wanted = eventMatcher(entry.patterns);
    return entry.channel;
  }

  /** Hands an encoded event to one consumer of every group that wants `name`; returns how many groups got it. */
  publish(name: string, data: WireData): number {
    let groups = 0;
    for (const { channel, wanted } of this.#groups.values()) {
      if (wanted(name) && channel.send({ data, reply: undefined, signal: undefined })) groups++;
    }
    return groups;
  }
}
