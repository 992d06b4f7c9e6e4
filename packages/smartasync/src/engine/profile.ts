/**
 * What smartasync learns about one function or method from its calls: how long a call runs
 * and how much of that is CPU. The pool uses it to keep short calls from waiting behind long
 * ones; `offload: 'auto'` uses it to run calls inline once they prove cheap.
 */

/**
 * Weight of the newest sample in the running means. A quarter lets one outlier (a GC pause,
 * a preempted thread) move the mean by a quarter of its excess, while two or three slow calls
 * in a row change the verdict.
 */
const WEIGHT = 0.25;

/** How many of the latest run times a profile keeps. */
export const RECENT = 8;

export class CallProfile {
  /** Calls measured so far. */
  count = 0;
  /** The latest RECENT run times in ms, oldest overwritten first. */
  readonly recent = new Float64Array(RECENT);
  /** Smoothed run time of a call, in ms. */
  meanMs = 0;
  /**
   * Smoothed share of a call's run time in which it wanted a CPU (ran on one, or was runnable
   * and waited for one), from the calls measured; 1 until one was. Below one half, the call
   * mostly waits on something else (a database, a disk).
   */
  cpuShare = 1;
  private cpuSamples = 0;

  /** Adds one call that ran `runMs`, of which `cpuMs` on a CPU when measured. */
  record(runMs: number, cpuMs?: number): void {
    this.recent[this.count % RECENT] = runMs;
    this.meanMs = this.count++ === 0 ? runMs : this.meanMs + WEIGHT * (runMs - this.meanMs);
    if (cpuMs === undefined || runMs <= 0) return;
    const share = Math.min(1, cpuMs / runMs);
    this.cpuShare = this.cpuSamples++ === 0 ? share : this.cpuShare + WEIGHT * (share - this.cpuShare);
  }
}
