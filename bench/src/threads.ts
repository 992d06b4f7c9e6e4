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
    return readdirSync(`/proc/${pid}/task`).filter((tid) => tid !== main && !HELPER_THREAD.test(readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim())).length;
  } catch {
    return undefined;
  }
}
