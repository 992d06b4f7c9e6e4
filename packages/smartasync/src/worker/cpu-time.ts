/**
 * How long this thread wanted a CPU: running on one, or runnable and waiting for one. The
 * scheduler asks it of calls that may be long, to tell work that computes (and competes for
 * cores) from work that waits on a server or a disk. Plain CPU time would misjudge computing
 * work on a busy machine, where it spends much of its time waiting for a core.
 *
 * CPU time comes from the thread's CPU clock (process.threadCpuUsage). On many Linux kernels it
 * advances by whole scheduler ticks (4 ms at 250 Hz): right on average, not per short call, so
 * the pool sums readings over calls (profile.ts).
 * Time waiting for a core comes, on Linux, from the thread's schedstat, read through a
 * descriptor kept open (about 2 µs a read); its CPU field is not used, because the kernel
 * brings it up to date only when the thread is descheduled. Elsewhere waiting is not seen.
 */
import fs from 'node:fs';

/**
 * Waiting for a core counts up to this many times the time on one. A computing thread waits in
 * proportion to its computing (on a machine with twice as many busy threads as cores, about as
 * long again); a thread that mostly sleeps can wait long once, when it wakes on a busy machine,
 * and must not count as computing for it.
 */
const WAIT_PER_CPU = 3;

/** A reading: ms on a CPU, and ms runnable but waiting for one. */
export interface Reading {
  readonly cpu: number;
  readonly wait: number;
}

let fd: number | undefined | null = null;
const buffer = Buffer.alloc(96);

/** [ms on a CPU, ms waiting for one] from this thread's schedstat, or undefined off Linux. */
function schedstat(): [number, number] | undefined {
  if (fd === null) {
    try {
      fd = fs.openSync('/proc/thread-self/schedstat', 'r'); // this thread's, whichever reads it later
    } catch {
      fd = undefined;
    }
  }
  if (fd === undefined) return undefined;
  const [onCpu, waiting] = buffer.toString('latin1', 0, fs.readSync(fd, buffer, 0, buffer.length, 0)).split(' ');
  return [Number(onCpu) / 1e6, Number(waiting) / 1e6];
}

// process.threadCpuUsage: Node 23.9 and later.
const threadCpuUsage = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage?.bind(process);

/** Now, or undefined where this platform tells nothing (every long call then counts as computing). */
export function runnableNow(): Reading | undefined {
  const stat = schedstat();
  const usage = threadCpuUsage?.();
  const cpu = usage ? (usage.user + usage.system) / 1000 : stat?.[0];
  return cpu === undefined ? undefined : { cpu, wait: stat?.[1] ?? 0 };
}

/** Milliseconds this thread wanted a CPU since `before` (see WAIT_PER_CPU). */
export function runnableMsSince(before: Reading): number {
  const now = runnableNow()!;
  const cpu = now.cpu - before.cpu;
  return cpu + Math.min(now.wait - before.wait, WAIT_PER_CPU * cpu);
}

/** How often, at most, the preemption clock reads the thread's schedstat (a read costs ~2 µs). */
const SAMPLE_MS = 10;

/**
 * How long this thread has waited for a CPU lately, for calls that ran long: a call preempted on
 * a busy machine is not a long call, and the pool must not learn it as one. A reading is taken at
 * most every SAMPLE_MS as calls start (so short calls pay nothing measurable); a call that ran
 * long reads again at its end, and the difference (an upper bound: it may include waits just
 * before the call) is what it lost to preemption.
 */
export class PreemptionClock {
  private at = -Infinity;
  private wait = 0;

  /** A call starts at `now` (performance.now()). */
  tick(now: number): void {
    if (now - this.at < SAMPLE_MS) return;
    const stat = schedstat();
    if (!stat) return;
    this.at = now;
    this.wait = stat[1];
  }

  /** Ms this thread waited for a CPU since the reading before the current call; undefined off Linux. */
  waitedMs(): number | undefined {
    const stat = this.at === -Infinity ? undefined : schedstat();
    return stat && stat[1] - this.wait;
  }
}
