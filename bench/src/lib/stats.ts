// Order statistics over per-call samples and over repeated blocks, and latency tails from whole
// distributions (HdrHistogram, hdr-histogram-js: every call recorded in µs at 3 significant digits).
import * as hdr from 'hdr-histogram-js';
import type { Stamp } from '../tasks.ts';

// Two definitions, each for its own kind of figure: a percentile (p50, p99) is the nearest rank, one value
// that was seen; a median (of rounds, of a block, of several runs) is the middle value, or the mean of
// the two middle values of an even count. Nothing calls a nearest-rank p50 a median.

/** Nearest rank on a sorted sample: p99 of 1,000 samples is the 990th value, never an interpolation. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  return n ? sorted[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))]! : Number.NaN;
}

export const sortedCopy = (xs: ArrayLike<number>): Float64Array => Float64Array.from(xs).sort();

/** The middle value, or the mean of the two middle values of an even count. */
export function median(xs: ArrayLike<number>): number {
  const [s, n] = [sortedCopy(xs), xs.length];
  return n === 0 ? Number.NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((n, x) => n + f(x), 0);

/** Per-round values of one metric: the median over rounds, the min–max and the quartiles. */
export type Spread = ReturnType<typeof spread>;
export function spread(values: number[]) {
  const s = sortedCopy(values);
  const [min, max] = [s[0] ?? Number.NaN, s.at(-1) ?? Number.NaN];
  return { median: median(s), min, max, q1: quantile(s, 0.25), q3: quantile(s, 0.75), n: s.length };
}

const SLOW_MS = 5;
// 1 µs to 10 min, 3 significant digits.
const histogram = () =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: 3 });
const us = (ms: number) => Math.max(1, Math.round(ms * 1000));
// A percentile is its bucket's upper bound: never report it above the largest value seen.
const at = (h: hdr.Histogram, q: number) => Math.min(h.getValueAtPercentile(q), h.maxValue) / 1000;
const pq = (h: hdr.Histogram) => ({ p50: at(h, 50), p99: at(h, 99) });

/** Plain latencies (HTTP responses). */
export class Latencies {
  protected readonly h = histogram();
  protected over5 = 0;
  record(ms: number): void {
    this.h.recordValue(us(ms));
    if (ms > SLOW_MS) this.over5++;
  }
  get count(): number {
    return this.h.totalCount;
  }
  p99(): number {
    return this.count ? at(this.h, 99) : Number.NaN;
  }
  /** Percentiles of the distribution, ms, with the histogram itself (compressed base64, µs). */
  dist() {
    const { h, count } = this;
    const [max, mean] = count ? [h.maxValue / 1000, h.mean / 1000] : [Number.NaN, Number.NaN];
    const [over5ms, encoded] = [count ? this.over5 / count : 0, hdr.encodeIntoCompressedBase64(h)];
    const ms = (q: number) => (count ? at(h, q) : Number.NaN);
    return { count, p50: ms(50), p90: ms(90), p99: ms(99), p999: ms(99.9), max, mean, over5ms, hdr: encoded };
  }
  destroy(): void {
    this.h.destroy();
  }
}

export type Recorded = ReturnType<Recorder['result']>;

/**
 * Calls whose worker stamped when the body started and how long it ran: besides the latency, where
 * the time went (the sender's lateness, waiting to start on a worker, running, reply delivery).
 */
export class Recorder extends Latencies {
  private readonly parts = { lag: histogram(), queue: histogram(), run: histogram(), reply: histogram() };
  private readonly slow: { total: number; queue: number; reply: number }[] = [];

  /** `from`: what the latency counts from (the call, or its intended send time); all on this thread's performance.now(). */
  call(from: number, sent: number, settled: number, stamp: Stamp): void {
    const total = settled - from;
    // Worker stamps are wall-clock: convert the caller's times the same way.
    const queue = Math.max(0, stamp.t - (performance.timeOrigin + sent));
    const reply = Math.max(0, performance.timeOrigin + settled - (stamp.t + stamp.r));
    this.record(total);
    const p = this.parts;
    p.lag.recordValue(us(sent - from));
    p.queue.recordValue(us(queue));
    p.run.recordValue(us(stamp.r));
    p.reply.recordValue(us(reply));
    if (total > SLOW_MS) this.slow.push({ total, queue, reply });
  }

  result() {
    // `late`: the calls over SLOW_MS.
    const [p, late] = [this.parts, this.slow];
    const m = (k: 'total' | 'queue' | 'reply') => median(late.map((s) => s[k]));
    const slow = { count: late.length, medianMs: m('total'), queueMedianMs: m('queue'), replyMedianMs: m('reply') };
    const split = { lag: pq(p.lag), queue: pq(p.queue), run: pq(p.run), reply: pq(p.reply) };
    return { latency: this.dist(), split, slow };
  }

  override destroy(): void {
    super.destroy();
    for (const h of Object.values(this.parts)) h.destroy();
  }
}
