/**
 * Head-of-line protection: the policy that keeps short calls from waiting behind long ones,
 * and long calls from waiting for ever behind short ones.
 *
 * Every function and method has a profile of its past calls (see profile.ts). A call is
 * - short when its function's latest calls all ran under `longCallMs` (their median, and the
 *   latest one, and none seen stuck since);
 * - long when they typically (the median of the latest 8) ran `longCallMs` or more;
 * - doubtful otherwise: its function has never run, or its latest call ran clearly long
 *   (`doubtMs`: 10 ms, or twice `longCallMs` if more), or one of its calls is running that long
 *   right now. A doubtful call is placed like a long one, and held back like one (below) unless
 *   its function is known to wait rather than compute. (Time a call's thread lost to
 *   preemption on a busy machine is not counted as its own: it casts no doubt.)
 * Long and doubtful calls hold their worker alone: no short call is queued behind them. Short
 * calls go to workers that hold no such call; when every worker holds one, a short call takes
 * the express worker, one thread beyond `size` that runs short calls only (Go's runtime hands
 * its processor to a new thread when one blocks in a system call, to the same end).
 *
 * While short calls keep arriving (the last one less than `holdMs` ago), CPU-bound long calls
 * (and doubtful ones: a function never seen is taken to compute until it shows otherwise) run
 * on at most `cores - reservedCores` workers at once (never fewer than one), so a core stays
 * free for the event loop and the short calls: an idle worker is not enough when the operating
 * system time-slices more busy threads than there are cores. Long calls that mostly wait (on a
 * database, a disk) are not held back, since they leave the CPU free. Nor is the call after
 * one slow call of a short function (a GC pause, page faults): held back, it would wait for
 * the whole of a long call for one slow call's sake. After two slow calls in a row it is.
 *
 * Nothing starves: a freed worker takes waiting calls in the order they came, short or long, so
 * a long call waits only for the calls that came before it (and, while the hold lasts, for the
 * CPU-bound long calls running), however many short calls keep coming after it.
 */
import type { CallProfile } from './profile.ts';
import type { HeadOfLineOptions } from '../types.ts';

/** Below this share of its run time on a CPU, a long call counts as waiting, not computing. */
const CPU_BOUND_SHARE = 0.5;

/** See `doubtMs`. */
const DOUBT_MS = 10;

export const HEAD_OF_LINE_DEFAULTS: Required<HeadOfLineOptions> = { longCallMs: 2, holdMs: 1_000, reservedCores: 1 };

/** How a call is placed (see above). */
export type CallClass = 'short' | 'doubtful' | 'long';

export class HeadOfLine {
  readonly enabled: boolean;
  readonly longCallMs: number;
  /** A call this long makes its function doubtful at once (see above). */
  readonly doubtMs: number;
  private readonly holdMs: number;
  /** How many CPU-bound long calls may run at once while short calls arrive. */
  readonly heldLimit: number;
  private shortSeenAt = -Infinity;

  constructor(options: boolean | HeadOfLineOptions | undefined, size: number, cores: number) {
    this.enabled = options !== false;
    const o = { ...HEAD_OF_LINE_DEFAULTS, ...(typeof options === 'object' ? options : {}) };
    this.longCallMs = o.longCallMs;
    this.doubtMs = Math.max(DOUBT_MS, 2 * o.longCallMs);
    this.holdMs = o.holdMs;
    this.heldLimit = Math.max(1, Math.min(size, cores - o.reservedCores));
  }

  /** The class of a call of a function with this profile; all short when protection is off. */
  classify(profile: CallProfile): CallClass {
    if (!this.enabled) return 'short';
    if (profile.count === 0) return 'doubtful';
    if (profile.typicalMs >= this.longCallMs) return 'long';
    return profile.lastMs >= this.doubtMs || profile.stalled ? 'doubtful' : 'short';
  }

  /**
   * Whether a call with this profile may run long, protection on or off: the worker then sends
   * the replies it has written before it starts the call, rather than after it.
   */
  mayBeLong(profile: CallProfile): boolean {
    return (
      profile.count === 0 || profile.typicalMs >= this.longCallMs || profile.lastMs >= this.doubtMs || profile.stalled
    );
  }

  /** Whether a long call with this profile keeps a CPU busy while it runs. */
  isCpuBound(profile: CallProfile): boolean {
    return profile.cpuShare >= CPU_BOUND_SHARE;
  }

  /** Whether a long or doubtful call with this profile is held back by the hold (see above). */
  isHoldable(profile: CallProfile): boolean {
    return this.isCpuBound(profile) && !this.slowOnce(profile);
  }

  /** Its function's calls were short, and only the latest ran clearly long. */
  private slowOnce(profile: CallProfile): boolean {
    return (
      !profile.stalled &&
      profile.typicalMs < this.longCallMs &&
      profile.lastMs >= this.doubtMs &&
      profile.previousMs < this.longCallMs
    );
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
