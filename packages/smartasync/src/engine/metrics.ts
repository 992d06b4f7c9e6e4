/**
 * Per-function figures for `getPool().stats().functions`: counts, and wait and run time
 * histograms (fixed buckets, so a metrics endpoint can export them as they are).
 */
import type { FunctionStats, Histogram } from '../types.ts';

/** Bucket bounds in ms: from a fast call's hand-off to a report's run. */
export const BUCKETS_MS: readonly number[] = [
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  25,
  50,
  100,
  250,
  500,
  1_000,
  2_500,
  5_000,
  10_000,
  Infinity,
];

class Durations {
  private readonly counts = new Float64Array(BUCKETS_MS.length);
  private count = 0;
  private sum = 0;

  add(ms: number): void {
    let i = 0;
    while (ms > BUCKETS_MS[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += ms;
  }

  snapshot(): Histogram {
    let running = 0;
    const buckets = BUCKETS_MS.map((le, i) => ({ le, count: (running += this.counts[i]!) }));
    return { count: this.count, sumMs: this.sum, buckets };
  }
}

/** What the pool has seen of one function or method. */
export class FunctionMetrics {
  readonly name: string;
  completed = 0;
  failed = 0;
  expressCalls = 0;
  readonly waitTime = new Durations();
  readonly runTime = new Durations();

  constructor(name: string) {
    this.name = name;
  }

  snapshot(queued: number, heldBack: number): FunctionStats {
    const { name, completed, failed, expressCalls } = this;
    return {
      name,
      completed,
      failed,
      queued,
      heldBack,
      expressCalls,
      waitTime: this.waitTime.snapshot(),
      runTime: this.runTime.snapshot(),
    };
  }
}
