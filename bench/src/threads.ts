// Telling a Node process's threads apart in /proc/<pid>/task: Node's own helper threads have
// fixed names (V8 platform workers, libuv's pool, the task scheduler, the signal watcher); every
// other thread but the main one is a worker_threads thread (`WorkerThread`, or the name its pool
// gave it).
import { readdirSync, readFileSync } from 'node:fs';

export const HELPER_THREAD = /^(V8Worker|libuv-worker|DelayedTaskSche|SignalInspector)/;

/** worker_threads threads alive in process `pid` now; undefined where /proc cannot tell (not Linux). */
export function workerThreads(pid: number | 'self'): number | undefined {
  try {
    const main = pid === 'self' ? String(process.pid) : String(pid);
    return readdirSync(`/proc/${pid}/task`).filter(
      (tid) => tid !== main && !HELPER_THREAD.test(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim()),
    ).length;
  } catch {
    return undefined;
  }
}

/**
 * CPU ticks (USER_HZ) the whole machine spent busy, and this process with its waited-for
 * children: the difference over a run is what other processes took from the benchmark.
 */
export function cpuTicks(): { machine: number; own: number } | undefined {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal: busy = all but idle and iowait
    const machine = cpu.slice(0, 8).reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!;
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // utime, stime, cutime, cstime are fields 14-17; `f` starts at field 3.
    return { machine, own: f[11]! + f[12]! + f[13]! + f[14]! };
  } catch {
    return undefined;
  }
}
