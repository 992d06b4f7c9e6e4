// From one candidate's samples to the figures the soak comparison reports.
/** Process memory and every worker's V8 heap at one moment (bytes); `t` in seconds since the load started. */
export interface SoakSample {
  t: number;
  /** calls settled so far, and of those, rejected */
  calls: number;
  failed: number;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  workers: { used: number; total: number; external: number }[];
}

const MB = 1024 * 1024;

import { median } from '../lib/stats.ts';

/** One candidate's run in figures (MB, seconds). */
export interface SoakSummary {
  seconds: number;
  calls: number;
  callsPerSecond: number;
  failed: number;
  /** RSS before the load started, with the pool up and idle */
  rssBefore: number;
  /** RSS at the middle and at the end of the run (median of the samples within ±`window` s) */
  rssMid: number;
  rssEnd: number;
  rssPeak: number;
  /** rssEnd - rssBefore */
  growth: number;
  /** rssEnd - rssMid: what the second half still added */
  lastHalfGrowth: number;
  /** least-squares slope of RSS over the second half, MB per minute */
  lastHalfSlope: number;
  /** V8 heaps at the end: the main thread's and the workers' (reserved, not just used) */
  mainHeapTotal: number;
  workerHeapTotal: number;
  /** what RSS holds beyond those heaps: code, native allocations, stacks, the allocator's free lists */
  rest: number;
  /** whether the second half was flat (see `isFlat`) */
  flat: boolean;
}

/**
 * The second half counts as flat when it added at most a tenth of the run's growth, or at most
 * `FLAT_FLOOR_MB` (below that, samples move that much from one GC to the next anyway).
 */
export const FLAT_SHARE = 0.1;
export const FLAT_FLOOR_MB = 10;

export function isFlat(growth: number, lastHalfGrowth: number): boolean {
  return lastHalfGrowth <= Math.max(FLAT_SHARE * growth, FLAT_FLOOR_MB);
}

/** Median RSS of the samples within `window` s of `t` (the nearest sample when none is). */
function rssAround(samples: SoakSample[], t: number, window: number): number {
  const near = samples.filter((s) => Math.abs(s.t - t) <= window).map((s) => s.rss);
  if (near.length > 0) return median(near) / MB;
  return samples.reduce((a, b) => (Math.abs(b.t - t) < Math.abs(a.t - t) ? b : a)).rss / MB;
}

function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

/** `samples` in time order, the first taken before the load started. */
export function summarize(samples: SoakSample[], window = 5): SoakSummary {
  if (samples.length < 2) throw new Error(`a soak run needs at least 2 samples, got ${samples.length}`);
  const first = samples[0]!;
  const last = samples.at(-1)!;
  const seconds = last.t;
  // The end is read over the last `window` seconds only (there is nothing after it).
  const rssEnd = median(samples.filter((s) => s.t >= seconds - window).map((s) => s.rss)) / MB;
  const rssMid = rssAround(samples, seconds / 2, window);
  const rssBefore = first.rss / MB;
  const growth = rssEnd - rssBefore;
  const lastHalfGrowth = rssEnd - rssMid;
  const secondHalf = samples.filter((s) => s.t >= seconds / 2).map((s): [number, number] => [s.t / 60, s.rss / MB]);
  const workerHeapTotal = last.workers.reduce((a, w) => a + w.total, 0) / MB;
  const mainHeapTotal = last.heapTotal / MB;
  return {
    seconds,
    calls: last.calls,
    callsPerSecond: seconds > 0 ? last.calls / seconds : 0,
    failed: last.failed,
    rssBefore,
    rssMid,
    rssEnd,
    rssPeak: Math.max(...samples.map((s) => s.rss)) / MB,
    growth,
    lastHalfGrowth,
    lastHalfSlope: slope(secondHalf),
    mainHeapTotal,
    workerHeapTotal,
    rest: last.rss / MB - mainHeapTotal - workerHeapTotal,
    flat: isFlat(growth, lastHalfGrowth),
  };
}
