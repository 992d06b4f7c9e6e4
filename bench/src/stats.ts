// Order statistics over per-call samples and over repeated blocks.

export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  // Nearest-rank on the sorted sample: p99 of 1,000 samples is the 990th value, never an
  // interpolation between two real observations.
  const idx = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1));
  return sorted[idx] as number;
}

export function sortedCopy(xs: ArrayLike<number>): Float64Array {
  const a = Float64Array.from(xs as ArrayLike<number>);
  a.sort();
  return a;
}

/** The middle value, or the mean of the two middle values of an even count. */
export function median(xs: ArrayLike<number>): number {
  return medianSorted(sortedCopy(xs));
}

function medianSorted(s: Float64Array): number {
  const n = s.length;
  if (n === 0) return Number.NaN;
  return n % 2 ? (s[(n - 1) / 2] as number) : ((s[n / 2 - 1] as number) + (s[n / 2] as number)) / 2;
}

export interface Spread {
  /** median over the repeated blocks */
  median: number;
  min: number;
  max: number;
  /** interquartile range of the per-block values */
  q1: number;
  q3: number;
  n: number;
}

export function spread(values: number[]): Spread {
  const s = sortedCopy(values);
  return {
    median: medianSorted(s),
    min: s.length ? (s[0] as number) : Number.NaN,
    max: s.length ? (s[s.length - 1] as number) : Number.NaN,
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
    n: s.length,
  };
}

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
