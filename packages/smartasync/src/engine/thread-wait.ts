/**
 * How long a thread of this process has waited for a CPU (runnable, not running), from Linux's
 * per-thread schedstat. On a machine with more busy threads than cores, a call that looks stuck
 * may only be waiting for its turn: the pool subtracts this before it decides a call runs long.
 */
import fs from 'node:fs';

const buffer = Buffer.alloc(96);

/** Milliseconds thread `tid` (an id from /proc) has spent waiting for a CPU, or undefined where unknown. */
export function runQueueMs(tid: number): number | undefined {
  if (tid === 0) return undefined;
  let fd: number | undefined;
  try {
    fd = fs.openSync(`/proc/self/task/${tid}/schedstat`, 'r');
    const text = buffer.toString('latin1', 0, fs.readSync(fd, buffer, 0, buffer.length, 0));
    return Number(text.split(' ')[1]) / 1e6;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
