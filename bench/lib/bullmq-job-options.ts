import type { JobsOptions } from 'bullmq';

/**
 * The job options both sides of the BullMQ rows use (Switchyard's producer gets the same): retried
 * three times with exponential backoff, kept an hour or 10,000 jobs once completed, kept when failed.
 */
export const JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 3_600, count: 10_000 },
  removeOnFail: false,
} satisfies JobsOptions;
