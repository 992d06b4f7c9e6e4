/**
 * What smartasync learns about one function or method from its calls: how long a call runs
 * and how much of that is CPU. The pool uses it to keep short calls from waiting behind long
 * ones; `offload: 'auto'` uses it to run calls inline once they prove cheap.
 */

/** Weight of the newest sample in the running mean of the CPU share. */
const WEIGHT = 0.25;

/** How many of the latest run times a profile keeps. */
export const RECENT = 8;

/** Scratch space for the median: record() runs once per call and allocates nothing. */
const sorted = new Float64Array(RECENT);

export class CallProfile {
  /** Calls measured so far. */
  count = 0;
  /** The latest RECENT run times in ms, oldest overwritten first. */
  readonly recent = new Float64Array(RECENT);
  /**
   * How long a call typically runs, in ms: the upper median of the latest calls. A median, not
   * a mean: one call preempted on a busy machine (or caught by a GC pause) does not make a
   * function look long, while half of its latest calls being long does.
   */
  typicalMs = 0;
  /** The latest call's run time, in ms. */
  lastMs = 0;
  /** A call of it was seen running long (stuck past the stall threshold) since the latest record. */
  stalled = false;
  /**
   * Smoothed share of a call's run time in which it wanted a CPU (ran on one, or was runnable
   * and waited for one), from the calls measured; 1 until one was. Below one half, the call
   * mostly waits on something else (a database, a disk).
   */
  cpuShare = 1;
  private cpuSamples = 0;

  /** Adds one call that ran `runMs`, of which `cpuMs` on a CPU when measured. */
  record(runMs: number, cpuMs?: number): void {
    this.recent[this.count++ % RECENT] = runMs;
    this.lastMs = runMs;
    this.stalled = false;
    this.typicalMs = upperMedian(this.recent, Math.min(this.count, RECENT));
    if (cpuMs === undefined || runMs <= 0) return;
    const share = Math.min(1, cpuMs / runMs);
    this.cpuShare = this.cpuSamples++ === 0 ? share : this.cpuShare + WEIGHT * (share - this.cpuShare);
  }
}

function upperMedian(values: Float64Array, n: number): number {
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    let j = i;
    for (; j > 0 && sorted[j - 1]! > v; j--) sorted[j] = sorted[j - 1]!;
    sorted[j] = v;
  }
  return sorted[n >> 1]!;
}
