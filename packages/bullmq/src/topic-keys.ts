import { ConfigurationError } from '@switchyard/core';

/**
 * Where a topic lives in Redis: one stream per topic (every group is a consumer group on it), and
 * per group a stream of dead letters and a hash of the last error of each event being retried.
 * All keys start with the prefix, so a hash-tag prefix (`{switchyard}`) keeps them on one Redis
 * Cluster slot.
 */
export interface TopicKeys {
  /** The stream the publisher appends to. */
  readonly stream: string;
  /** The group's dead letters (a stream). */
  dead(group: string): string;
  /** The group's last error per event id, kept while the event is retried (a hash). */
  errors(group: string): string;
}

/** What a topic publisher or subscriber reaches; their `start()` resolves with it. */
export interface TopicAddress {
  /** The topic name. */
  readonly topic: string;
  /** The key prefix (`'bull'` unless set). */
  readonly prefix: string;
  /** The subscriber group (subscribers only). */
  readonly group?: string;
}

/** The fields of one stream entry. */
export const FIELD = {
  /** The event name, so a group skips what it does not subscribe to without decoding. */
  name: 'n',
  /** The encoded envelope. */
  envelope: 'e',
  /** Set on a replayed dead letter: the one group it is for. */
  group: 'g',
} as const;

/** The keys of `topic` under `prefix`. */
export function topicKeys(prefix: string, topic: string): TopicKeys {
  const stream = `${prefix}:topic:${topic}`;
  return {
    stream,
    dead: (group) => `${stream}:dead:${group}`,
    errors: (group) => `${stream}:errors:${group}`,
  };
}

/** Checks a topic name: 1–200 characters, no `:` or whitespace. */
export function checkTopicName(component: string, topic: unknown): string {
  if (typeof topic !== 'string' || !/^[^:\s]{1,200}$/.test(topic)) {
    throw new ConfigurationError(
      `${component}: topic must be 1–200 characters without ":" or spaces, got ${JSON.stringify(topic)}`,
    );
  }
  return topic;
}

/** One stream entry's fields as a record (`[f1, v1, f2, v2, …]` → `{ f1: v1, … }`). */
export function entryFields(flat: readonly string[]): Partial<Record<string, string>> {
  const fields: Partial<Record<string, string>> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) fields[flat[i]!] = flat[i + 1]!;
  return fields;
}

/** The stream id just after `id` (`ms-seq` → `ms-(seq+1)`), for `XTRIM … MINID`. */
export function nextStreamId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${BigInt(seq ?? '0') + 1n}`;
}

/** Compares two stream ids. */
export function compareStreamIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map((part) => BigInt(part));
  const [bMs, bSeq] = b.split('-').map((part) => BigInt(part));
  if (aMs !== bMs) return aMs! < bMs! ? -1 : 1;
  if (aSeq === bSeq) return 0;
  return (aSeq ?? 0n) < (bSeq ?? 0n) ? -1 : 1;
}
