// Processes and what /proc says about them: jobs run in child processes (pinned or not, with a hard
// time limit), threads told apart by name, CPU taken by other processes, and what was measured.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let tasksetWorks: boolean | undefined;
export const hasTaskset = () => (tasksetWorks ??= spawnSync('taskset', ['-c', '0', 'true']).status === 0);

/**
 * Runs `fn` of module `mod` on `job` in a child process (src/lib/child.ts) and returns its result. A
 * sync candidate that never answers blocks its thread for good: only the parent can end it.
 */
export async function runChild<T>(
  mod: URL,
  fn: string,
  job: unknown,
  o: { pinned?: boolean; timeoutMs: number; nodeArgs?: string[]; log: (m: string) => void },
): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'smartasync-bench-'));
  const [jobFile, outFile] = [join(dir, 'job.json'), join(dir, 'out.json')];
  writeFileSync(jobFile, JSON.stringify(job));
  const entry = fileURLToPath(new URL('./child.ts', import.meta.url));
  const argv = [process.execPath, '--expose-gc', ...(o.nodeArgs ?? []), entry, mod.href, fn, jobFile, outFile];
  if (o.pinned) argv.unshift('taskset', '-c', '0');
  try {
    // spawn's `timeout` kills the child (and sets `killed`) when the job overruns.
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: ['ignore', 'inherit', 'pipe'],
      timeout: o.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) o.log(line);
    });
    const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    if (child.killed) throw new Error(`job exceeded ${o.timeoutMs / 1000} s and was killed`);
    const last = stderr.trim().split('\n').slice(-3).join(' | ');
    if (code !== 0) throw new Error(`child exited with ${signal ?? code}: ${last}`);
    return JSON.parse(readFileSync(outFile, 'utf8')) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** This process's CPU time (all threads), µs. */
export const processCpuUs = () => process.cpuUsage().user + process.cpuUsage().system;

/** `f()`, or `fallback` where it throws (not Linux, no git, a process already gone). */
const attempt = <T, F>(f: () => T, fallback: F): T | F => {
  try {
    return f();
  } catch {
    return fallback;
  }
};

/** The numeric fields of a /proc stat line from field 3 on (after the command name, which may hold spaces). */
const statFields = (stat: string) =>
  stat
    .slice(stat.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);

// Node's own helper threads have fixed names (V8 platform workers, libuv's pool, the task scheduler,
// the signal watcher); every other thread but the main one is a worker_threads thread.
const HELPER_THREAD = /^(V8Worker|libuv-worker|DelayedTaskSche|SignalInspector)/;
type Usage = { ticks: number; cpuNs: number; switches: number; count: number };
export type Threads = Record<'main' | 'workers' | 'other', Usage>;

/** CPU (stat ticks, schedstat ns), context switches and count of process `pid`'s threads by kind; undefined off Linux. */
export const threads = (pid: number | 'self'): Threads | undefined =>
  attempt(() => {
    const main = String(pid === 'self' ? process.pid : pid);
    const zero = (): Usage => ({ ticks: 0, cpuNs: 0, switches: 0, count: 0 });
    const out: Threads = { main: zero(), workers: zero(), other: zero() };
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const read = (f: string) => readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8');
      const stat = read('stat');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = statFields(stat); // f[11], f[12]: utime and stime, fields 14 and 15
      const status = read('status');
      const num = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
      const t = out[tid === main ? 'main' : HELPER_THREAD.test(comm) ? 'other' : 'workers'];
      t.ticks += f[11]! + f[12]!;
      t.cpuNs += Number(read('schedstat').split(' ')[0]);
      t.switches += num('voluntary_ctxt_switches') + num('nonvoluntary_ctxt_switches');
      t.count++;
    }
    return out;
  }, undefined);

/** worker_threads threads alive in process `pid` now. */
export const workerThreads = (pid: number | 'self') => threads(pid)?.workers.count;

/** CPU ticks the machine spent busy, and this process with its waited-for children. */
const cpuTicks = () =>
  attempt(() => {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const f = statFields(readFileSync('/proc/self/stat', 'utf8'));
    // busy = all but idle and iowait; utime, stime, cutime, cstime are fields 14-17.
    const machine = cpu.slice(0, 8).reduce((a, b) => a + b, 0) - cpu[3]! - cpu[4]!;
    return { machine, own: f[11]! + f[12]! + f[13]! + f[14]! };
  }, undefined);

/** Starts counting: `otherCores()` is how many cores other processes kept busy on average since. */
export function machineLoad(): { otherCores(): number | undefined } {
  const [t0, a] = [performance.now(), cpuTicks()];
  const otherCores = () => {
    const [b, seconds] = [cpuTicks(), (performance.now() - t0) / 1000];
    return a && b ? Math.max(0, b.machine - a.machine - (b.own - a.own)) / 100 / seconds : undefined;
  };
  return { otherCores };
}

const here = fileURLToPath(new URL('.', import.meta.url));
const git = (args: string[]) =>
  attempt(() => execFileSync('git', args, { cwd: here, encoding: 'utf8' }).trim(), 'unknown');
const requireHere = createRequire(import.meta.url);
const smartasyncVersion = () =>
  attempt(() => (requireHere('smartasync/package.json') as { version: string }).version, null);

/** A fingerprint of smartasync's built files, taken before and after a run: a rebuild in the middle would mix two versions. */
export const subjectBuild = () =>
  attempt(() => {
    const dir = dirname(requireHere.resolve('smartasync'));
    const h = createHash('sha1');
    const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
    for (const f of files.sort()) h.update(readFileSync(join(dir, f)));
    return h.digest('hex').slice(0, 12);
  }, null);

/** What every results file records about its run: when, what ran, on what, and how loaded the machine was. */
export function runMeta(command: string) {
  return {
    date: new Date().toISOString(),
    command,
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    platform: `${process.platform} ${process.arch}`,
    commit: git(['rev-parse', '--short', 'HEAD']),
    smartasyncVersion: smartasyncVersion(),
    /** fingerprint of smartasync's built files at the start of the run */
    smartasyncBuild: subjectBuild(),
    loadavgBefore: loadavg(),
  };
}
