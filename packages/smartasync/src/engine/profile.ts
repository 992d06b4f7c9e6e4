/**
 * What smartasync learns about one function or method from its calls: how long a call runs
 * and how much of that is CPU. The pool uses it to keep short calls from waiting behind long
 * ones; `offload: 'auto'` uses it to run calls inline once they prove cheap.
 */

/** Weight of the newest sample in the running mean of the CPU share. */
const WEIGHT = 0.25;

/** How many of the latest run times a profile keeps. */
export const RECENT = 8;

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
    const latest = this.recent.slice(0, Math.min(this.count, RECENT)).sort();
    this.typicalMs = latest[latest.length >> 1]!;
    if (cpuMs === undefined || runMs <= 0) return;
    const share = Math.min(1, cpuMs / runMs);
    this.cpuShare = this.cpuSamples++ === 0 ? share : this.cpuShare + WEIGHT * (share - this.cpuShare);
  }
}
