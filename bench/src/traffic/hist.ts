// Latency recording with HdrHistogram (hdr-histogram-js): every call is recorded, at 3
// significant digits, in µs, and the tails come from the whole distribution. Each recorder
// also keeps where the time went (waiting to start on a worker, running, waiting for the
// reply to be delivered) from the workers' stamps.
import * as hdr from 'hdr-histogram-js';
import type { Stamp } from './work.ts';

/** Percentiles of one latency distribution, in ms. */
export interface Dist {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
  /** share of calls slower than 5 ms */
  over5ms: number;
  /** the histogram itself (HdrHistogram compressed base64, values in µs), to recompute any percentile */
  hdr: string;
}

/** Where the calls' time went (ms), from the worker's stamps and the caller's clock. */
export interface Split {
  /** open loop: from the intended send time to the actual call (the sender's own lateness) */
  lag: { p50: number; p99: number };
  /** from the call to the start of the body on a worker */
  queue: { p50: number; p99: number };
  /** the body's run time on the worker */
  run: { p50: number; p99: number };
  /** from the end of the body to the caller's promise settling: reply delivery and wake-ups */
  reply: { p50: number; p99: number };
}

/** Calls over 5 ms: how many, and where their time went (medians over those calls). */
export interface Slow {
  count: number;
  medianMs: number;
  /** 10th and 90th percentile of their durations: a narrow band means one fixed delay (a timeout), not work */
  p10Ms: number;
  p90Ms: number;
  queueMedianMs: number;
  replyMedianMs: number;
}

export interface Recorded {
  latency: Dist;
  split: Split;
  slow: Slow;
}

const SLOW_MS = 5;

function histogram(): hdr.Histogram {
  // 1 µs to 10 min, auto-resizing beyond; 3 significant digits.
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 600_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

const us = (ms: number) => Math.max(1, Math.round(ms * 1000));

function quantileOf(xs: number[], q: number): number {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
const medianOf = (xs: number[]) => quantileOf(xs, 0.5);

export function dist(h: hdr.Histogram, over5: number): Dist {
  // A percentile is reported as its bucket's upper bound; never above the largest value seen.
  const ms = (q: number) => (h.totalCount ? Math.min(h.getValueAtPercentile(q), h.maxValue) / 1000 : Number.NaN);
  return {
    count: h.totalCount,
    p50: ms(50),
    p90: ms(90),
    p99: ms(99),
    p999: ms(99.9),
    max: h.totalCount ? h.maxValue / 1000 : Number.NaN,
    mean: h.totalCount ? h.mean / 1000 : Number.NaN,
    over5ms: h.totalCount ? over5 / h.totalCount : 0,
    hdr: hdr.encodeIntoCompressedBase64(h),
  };
}

export class Recorder {
  private readonly total = histogram();
  private readonly lag = histogram();
  private readonly queue = histogram();
  private readonly run = histogram();
  private readonly reply = histogram();
  private over5 = 0;
  private readonly slow: { total: number; queue: number; reply: number }[] = [];

  /**
   * One call: `from` is when it counts from (the call, or its intended send time), `sent` when
   * the call was actually made, `settled` when its promise settled: all on this thread's
   * `performance.now()`; `stamp` is the worker's.
   */
  record(from: number, sent: number, settled: number, stamp: Stamp): void {
    const total = settled - from;
    // Worker stamps are wall-clock; convert the caller's times the same way.
    const origin = performance.timeOrigin;
    const queue = Math.max(0, stamp.t - (origin + sent));
    this.lag.recordValue(us(sent - from));
    const reply = Math.max(0, origin + settled - (stamp.t + stamp.r));
    this.total.recordValue(us(total));
    this.queue.recordValue(us(queue));
    this.run.recordValue(us(stamp.r));
    this.reply.recordValue(us(reply));
    if (total > SLOW_MS) {
      this.over5++;
      this.slow.push({ total, queue, reply });
    }
  }

  get count(): number {
    return this.total.totalCount;
  }

  /** The p99 alone, in ms (for per-round values). */
  p99(): number {
    return this.total.totalCount
      ? Math.min(this.total.getValueAtPercentile(99), this.total.maxValue) / 1000
      : Number.NaN;
  }

  result(): Recorded {
    const at = (h: hdr.Histogram, q: number) => Math.min(h.getValueAtPercentile(q), h.maxValue) / 1000;
    const pq = (h: hdr.Histogram) => ({ p50: at(h, 50), p99: at(h, 99) });
    return {
      latency: dist(this.total, this.over5),
      split: { lag: pq(this.lag), queue: pq(this.queue), run: pq(this.run), reply: pq(this.reply) },
      slow: {
        count: this.slow.length,
        medianMs: medianOf(this.slow.map((s) => s.total)),
        p10Ms: quantileOf(
          this.slow.map((s) => s.total),
          0.1,
        ),
        p90Ms: quantileOf(
          this.slow.map((s) => s.total),
          0.9,
        ),
        queueMedianMs: medianOf(this.slow.map((s) => s.queue)),
        replyMedianMs: medianOf(this.slow.map((s) => s.reply)),
      },
    };
  }

  destroy(): void {
    for (const h of [this.total, this.lag, this.queue, this.run, this.reply]) h.destroy();
  }
}

/** A histogram of plain latencies (HTTP responses), without worker stamps. */
export class PlainRecorder {
  private readonly h = histogram();
  private over5 = 0;
  record(ms: number): void {
    this.h.recordValue(us(ms));
    if (ms > SLOW_MS) this.over5++;
  }
  get count(): number {
    return this.h.totalCount;
  }
  result(): Dist {
    return dist(this.h, this.over5);
  }
  destroy(): void {
    this.h.destroy();
  }
}
