import type { BenchResult } from './types.ts';

/** A side of a comparison: `run(ops)` performs `ops` operations end to end and resolves when all are done. */
export interface Contender {
  readonly name: string;
  readonly run: (ops: number) => Promise<void>;
}

/** Options of {@link compareThroughput}. */
export interface ThroughputOptions {
  /** Row name; " (ops/s)" is appended. */
  readonly name: string;
  readonly subject: Contender;
  readonly baseline: Contender;
  /** Operations per round. */
  readonly ops: number;
  /** Rounds per side, interleaved subject/baseline so drift hits both alike. @default 7 */
  readonly rounds?: number;
  /** Untimed warm-up rounds per side. @default 2 */
  readonly warmup?: number;
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The p-th percentile (0–100) of a list of numbers, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

async function timeRound(contender: Contender, ops: number): Promise<number> {
  const started = process.hrtime.bigint();
  await contender.run(ops);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return ops / seconds;
}

/** Measures both sides in interleaved rounds and reports median ops/s and their ratio. */
export async function compareThroughput(options: ThroughputOptions): Promise<BenchResult> {
  const rounds = options.rounds ?? 7;
  const warmup = options.warmup ?? 2;
  for (let round = 0; round < warmup; round++) {
    await options.subject.run(options.ops);
    await options.baseline.run(options.ops);
  }
  const subject: number[] = [];
  const baseline: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternate who goes first, so neither side always runs on a warmer (or more tired) machine.
    if (round % 2 === 0) {
      subject.push(await timeRound(options.subject, options.ops));
      baseline.push(await timeRound(options.baseline, options.ops));
    } else {
      baseline.push(await timeRound(options.baseline, options.ops));
      subject.push(await timeRound(options.subject, options.ops));
    }
  }
  const s = median(subject);
  const b = median(baseline);
  return {
    name: `${options.name} (ops/s)`,
    unit: 'ops/s',
    subject: s,
    baseline: b,
    baselineName: options.baseline.name,
    ratio: s / b,
  };
}

/** A side of a latency comparison: `once()` performs one operation end to end. */
export interface LatencyContender {
  readonly name: string;
  readonly once: () => Promise<void>;
}

/** Options of {@link compareLatency}. */
export interface LatencyOptions {
  readonly name: string;
  readonly subject: LatencyContender;
  readonly baseline: LatencyContender;
  /** Operations kept in flight at once. */
  readonly concurrency: number;
  /** Operations measured per side (after a warm-up of a tenth of that). */
  readonly ops: number;
}

async function sampleLatency(
  contender: LatencyContender,
  concurrency: number,
  ops: number,
): Promise<number[]> {
  const samples: number[] = [];
  let started = 0;
  async function lane(): Promise<void> {
    while (started < ops) {
      started++;
      const t0 = process.hrtime.bigint();
      await contender.once();
      samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane));
  return samples;
}

/**
 * Runs `ops` operations with `concurrency` in flight for each side (four interleaved slices each)
 * and reports median throughput, p50 and p99 latency of both.
 */
export async function compareLatency(options: LatencyOptions): Promise<BenchResult[]> {
  const warm = Math.max(options.concurrency, Math.floor(options.ops / 10));
  await sampleLatency(options.subject, options.concurrency, warm);
  await sampleLatency(options.baseline, options.concurrency, warm);
  // Four interleaved slices per side (ABBA BAAB): drift on this shared machine hits both alike.
  const slice = Math.ceil(options.ops / 4);
  const subject: number[] = [];
  const baseline: number[] = [];
  const rates = { subject: [] as number[], baseline: [] as number[] };
  const order = [
    'subject',
    'baseline',
    'baseline',
    'subject',
    'baseline',
    'subject',
    'subject',
    'baseline',
  ] as const;
  for (const side of order) {
    const t0 = process.hrtime.bigint();
    const samples = await sampleLatency(options[side], options.concurrency, slice);
    rates[side].push(slice / (Number(process.hrtime.bigint() - t0) / 1e9));
    (side === 'subject' ? subject : baseline).push(...samples);
  }
  const baselineName = options.baseline.name;
  const row = (metric: string, unit: 'ops/s' | 'ms', s: number, b: number): BenchResult => ({
    name: `${options.name} (${metric})`,
    unit,
    subject: s,
    baseline: b,
    baselineName,
    ratio: unit === 'ops/s' ? s / b : b / s,
  });
  return [
    row('ops/s', 'ops/s', median(rates.subject), median(rates.baseline)),
    row('p50 ms', 'ms', percentile(subject, 50), percentile(baseline, 50)),
    row('p99 ms', 'ms', percentile(subject, 99), percentile(baseline, 99)),
  ];
}

/** Resolves when `count()` reaches `target`; rejects after `timeoutMs` so a lost message cannot hang the run. */
export async function untilCount(count: () => number, target: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (count() < target) {
    if (Date.now() > deadline) throw new Error(`Timed out: ${count()} of ${target} done`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Runs `ops` calls of `once` with `concurrency` of them in flight at a time. */
export function lanes(once: (index: number) => Promise<void>, concurrency: number) {
  return async (ops: number): Promise<void> => {
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < ops) await once(next++);
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ops) }, lane));
  };
}
