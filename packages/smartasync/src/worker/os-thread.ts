/**
 * This worker's thread as the operating system sees it. On Linux every thread has an id and a
 * scheduling priority (nice value) of its own, so a worker can give way to the event loop that
 * started it without touching the process's other threads. Elsewhere a priority is the whole
 * process's, and nothing here changes it.
 */
import fs from 'node:fs';
import os from 'node:os';

/**
 * This thread's id in the operating system, where /proc tells it (Linux), else 0: the pool reads
 * how long a stuck call's thread waited for a CPU (preempted on a busy machine, not stuck).
 */
export function osThreadId(): number {
  try {
    return Number(fs.readlinkSync('/proc/thread-self').split('/').pop()) || 0;
  } catch {
    return 0;
  }
}

/**
 * Runs this thread (`tid`, from osThreadId) `steps` nice values below where it started (at most
 * 19), Linux only: when every core is busy, the kernel then runs the threads at the higher
 * priority first (the event loop) and this one with what is left; on an idle core it runs as
 * fast as ever. A thread may lower its own priority without privileges, but not raise it again,
 * so this is done once, at start.
 */
export function lowerPriority(tid: number, steps: number): void {
  if (process.platform !== 'linux' || tid === 0 || steps <= 0) return;
  try {
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + steps));
  } catch {
    // refused (a sandbox without setpriority): the worker serves at its priority
  }
}
