/**
 * Head-of-line protection: the policy that keeps short calls from waiting behind long ones.
 *
 * Every function and method has a profile of its past calls (mean run time, CPU share).
 * - Calls that typically (the median of a function's latest calls) run `longCallMs` or more
 *   are long; the rest, and calls never seen, are short.
 * - A long call never has a short call queued behind it on its worker, and short calls go to
 *   workers that hold no long call. When every worker holds one, a short call takes the
 *   express worker, one thread beyond `size` that runs short calls only (Go's runtime hands
 *   its processor to a new thread when one blocks in a system call, to the same end).
 * - While short calls keep arriving (the last one less than `holdMs` ago), CPU-bound long
 *   calls run on at most `cores - reservedCores` workers at once (never fewer than one), so a
 *   core stays free for the event loop and the short calls: an idle worker is not enough when
 *   the operating system time-slices more busy threads than there are cores. Long calls that
 *   mostly wait (on a database, a disk) are not held back, since they leave the CPU free.
 * - When no short call has come for `holdMs`, long calls use the whole pool again.
 * Nothing starves: short calls always have a worker, and long calls at least one.
 */
import type { CallProfile } from './profile.ts';
import type { HeadOfLineOptions } from '../types.ts';

/** Below this share of its run time on a CPU, a long call counts as waiting, not computing. */
const CPU_BOUND_SHARE = 0.5;

export const HEAD_OF_LINE_DEFAULTS: Required<HeadOfLineOptions> = { longCallMs: 2, holdMs: 1_000, reservedCores: 1 };

export class HeadOfLine {
  readonly enabled: boolean;
  private readonly longCallMs: number;
  private readonly holdMs: number;
  /** How many CPU-bound long calls may run at once while short calls arrive. */
  readonly heldLimit: number;
  private shortSeenAt = -Infinity;

  constructor(options: boolean | HeadOfLineOptions | undefined, size: number, cores: number) {
    this.enabled = options !== false;
    const o = { ...HEAD_OF_LINE_DEFAULTS, ...(typeof options === 'object' ? options : {}) };
    this.longCallMs = o.longCallMs;
    this.holdMs = o.holdMs;
    this.heldLimit = Math.max(1, Math.min(size, cores - o.reservedCores));
  }

  /** Whether calls with this profile are long. */
  isLong(profile: CallProfile): boolean {
    return this.enabled && profile.count > 0 && profile.typicalMs >= this.longCallMs;
  }

  /** Whether a long call with this profile keeps a CPU busy while it runs. */
  isCpuBound(profile: CallProfile): boolean {
    return profile.cpuShare >= CPU_BOUND_SHARE;
  }

  /** Notes that a short call arrived at `now` (performance.now()). */
  shortArrived(now: number): void {
    this.shortSeenAt = now;
  }

  /** How many CPU-bound long calls may run at once at `now`. */
  longLimit(now: number): number {
    return this.enabled && now - this.shortSeenAt < this.holdMs ? this.heldLimit : Infinity;
  }

  /** When the hold on long calls lifts if no short call comes first (performance.now() time). */
  holdEndsAt(): number {
    return this.shortSeenAt + this.holdMs;
  }
}
