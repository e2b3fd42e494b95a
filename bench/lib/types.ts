/** One row of `bench/results/latest.json`. `ratio` > 1 always means Switchyard did better. */
export interface BenchResult {
  /** Scenario and metric, e.g. `"core: command dispatch (ops/s)"`. */
  readonly name: string;
  /** `ops/s` (higher is better) or `ms` (lower is better). */
  readonly unit: 'ops/s' | 'ms';
  /** Switchyard's median. */
  readonly subject: number;
  /** The baseline's median, measured in the same run. */
  readonly baseline: number;
  /** What the baseline is, e.g. `"raw bullmq Queue.add + Worker"` or `"@nestjs/cqrs"`. */
  readonly baselineName: string;
  /** subject/baseline for ops/s, baseline/subject for ms: > 1 means Switchyard is faster. */
  readonly ratio: number;
}

/** A group of measurements; `run` returns its rows, or `skip` says why it cannot run here. */
export interface BenchScenario {
  /** Short id used to filter: `pnpm bench -- bullmq`. */
  readonly id: string;
  /** Checked before `run`: a reason to skip (e.g. no Redis), or undefined to run. */
  readonly skip?: () => Promise<string | undefined>;
  readonly run: () => Promise<BenchResult[]>;
}
