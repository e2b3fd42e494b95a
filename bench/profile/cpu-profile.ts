/**
 * Reading a `node --cpu-prof` profile, shared by the profile splitters (bullmq-attribute.ts,
 * remote-shares.ts): the profile's shape, its nodes by id, and each node's self time.
 */
import { readFileSync } from 'node:fs';

export interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

export interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: number[];
}

export interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

/** A profile file, its nodes by id, and the self time of each node in µs. */
export function readProfile(file: string): {
  profile: Profile;
  byId: Map<number, ProfileNode>;
  selfUs: Map<number, number>;
} {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    // timeDeltas[i] is the time since the previous sample: it belongs to this one (close enough).
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  return { profile, byId, selfUs };
}
