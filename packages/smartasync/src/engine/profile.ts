/**
 * What smartasync learns about one function or method from its calls: how long a call runs
 * and how much of that is CPU. The pool uses it to keep short calls from waiting behind long
 * ones; `offload: 'auto'` uses it to run calls inline once they prove cheap.
 */

/**
 * The CPU share is a ratio of decayed sums (CPU ms over run ms), each earlier call's weight
 * multiplied by this per newer one. Sums, not a mean of per-call shares: a thread's CPU clock
 * often advances by whole scheduler ticks (4 ms on a 250 Hz kernel), so a 0.1 ms call reads 0
 * or 4 ms of CPU. Each reading is right on average; a per-call share, clamped to 1, is not.
 */
const DECAY = 0.75;

/**
 * What the sums start from: this many ms of run, all of it on a CPU. A function is taken to
 * compute until its calls show otherwise, and calls far shorter than a tick barely move it:
 * two 5 ms calls that read no CPU (a database wait) bring the share under one half.
 */
const PRIOR_MS = 10;

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
   * Share of a call's run time in which it wanted a CPU (ran on one, or was runnable and waited
   * for one), from the calls measured, the latest weighing most (see DECAY); 1 until one was.
   * Below one half, the call mostly waits on something else (a database, a disk).
   */
  cpuShare = 1;
  private cpuSum = PRIOR_MS;
  private runSum = PRIOR_MS;

  /** The run time of the call before the latest, in ms; Infinity before there was one. */
  get previousMs(): number {
    return this.count < 2 ? Infinity : this.recent[(this.count - 2) % RECENT]!;
  }

  /** Adds one call that ran `runMs`, of which `cpuMs` on a CPU when measured. */
  record(runMs: number, cpuMs?: number): void {
    this.recent[this.count++ % RECENT] = runMs;
    this.lastMs = runMs;
    this.stalled = false;
    this.typicalMs = upperMedian(this.recent, Math.min(this.count, RECENT));
    if (cpuMs === undefined || runMs <= 0) return;
    this.cpuSum = DECAY * this.cpuSum + cpuMs;
    this.runSum = DECAY * this.runSum + runMs;
    this.cpuShare = Math.min(1, this.cpuSum / this.runSum);
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
