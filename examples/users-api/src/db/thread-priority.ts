// A thread that does bulk work (the async drivers' exports) gives way to the event loop that
// answers requests: on Linux a thread has a scheduling priority of its own, so a pool worker can
// lower its own without touching the process's other threads.
import { readFileSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** How much lower (in nice steps) a thread doing bulk work runs than the event loop. */
export const BULK_NICE = 10;

/** This thread's id as the kernel knows it (Linux), or undefined. */
function kernelThreadId(): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    return Number(readFileSync('/proc/thread-self/stat', 'utf8').split(' ', 1)[0]);
  } catch {
    return undefined;
  }
}

/**
 * Lowers this thread's priority to at least BULK_NICE (never raises it): when every core is
 * busy, the kernel then runs the event loop's thread first, and this one with what is left.
 * Linux only (elsewhere a priority is the whole process's, and nothing is done); returns the
 * thread's nice value after, or undefined if it was not changed.
 */
export function runAsBulkWork(): number | undefined {
  const tid = kernelThreadId();
  if (tid === undefined) return undefined;
  try {
    const nice = Math.max(getPriority(tid), BULK_NICE);
    setPriority(tid, nice);
    return nice;
  } catch {
    return undefined; // not allowed (a sandbox): the export still works, at the same priority
  }
}
