import type { JobsOptions } from 'bullmq';
import { type JobData, PACK_JOB_NAME, type PackData } from './job-data.ts';

/** A job as `Queue.addBulk` takes it. */
export interface JobToAdd {
  readonly name: string;
  readonly data: JobData | PackData;
  readonly opts: JobsOptions;
}

/** A message's own job; with `packOptions`, the message may instead go in a pack with those job options. */
export interface MessageJob extends JobToAdd {
  readonly data: JobData;
  /**
   * The options of a pack this message may join: messages given the same object share packs.
   * `undefined` — the message keeps a job of its own (it has per-message delivery options).
   */
  readonly packOptions: JobsOptions | undefined;
}

/**
 * The jobs to add for the messages of one batch when up to `messagesPerJob` messages share a job:
 * the messages that may be packed are grouped by their `packOptions` and each group is cut into
 * packs of at most `messagesPerJob` ({@link PackData}, job name {@link PACK_JOB_NAME}, no job id);
 * a message left alone in its group, and every message that may not be packed, keeps its own job.
 */
export function packJobs(jobs: readonly MessageJob[], messagesPerJob: number): JobToAdd[] {
  const added: JobToAdd[] = [];
  const groups = new Map<JobsOptions, MessageJob[]>();
  for (const job of jobs) {
    const options = job.packOptions;
    if (options === undefined) {
      added.push(job);
      continue;
    }
    const group = groups.get(options);
    if (group === undefined) groups.set(options, [job]);
    else group.push(job);
  }
  for (const [opts, group] of groups) {
    for (let start = 0; start < group.length; start += messagesPerJob) {
      const members = group.slice(start, start + messagesPerJob);
      if (members.length === 1) added.push(members[0]!);
      else added.push({ name: PACK_JOB_NAME, data: { pack: members.map((job) => job.data) }, opts });
    }
  }
  return added;
}
