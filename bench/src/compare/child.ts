// One bench:compare job in a process of its own: both builds loaded side by side, measured in
// alternating blocks (round r starts with build r mod 2), so drift on a shared machine lands on
// both alike. Writes each metric's per-round values as JSON to the file named by argv[3].
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setImmediate as immediate, setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { quantile, sortedCopy } from '../stats.ts';

export type JobKind = 'roundtrip' | 'throughput' | 'spaced' | 'sync';

export interface CompareJob {
  readonly kind: JobKind;
  /** Pool size (worker threads). */
  readonly size: number;
  /** Calls per block. */
  readonly calls: number;
  readonly rounds: number;
  /** Calls in flight (throughput). */
  readonly inFlight?: number;
  /** Gap between spaced calls: 0 is setImmediate, else milliseconds. */
  readonly gapMs?: number;
  /** Build directories, each with tasks.mjs. */
  readonly builds: readonly string[];
}

type Small = { a: number };
interface Tasks {
  noop: ((x: Small) => Promise<Small>) & { sync(x: Small): Small };
  ping: ((x: Small) => Promise<Small>) & { sync(x: Small): Small };
  configure(options: { size: number }): void;
  getPool(): { close(): Promise<void> };
}
export type Metrics = Record<string, number>;

/** In `CompareJob.builds`: the peer (piscina, synckit) instead of a build. */
export const PEER = 'peer';

const gc = (globalThis as { gc?: () => void }).gc;
const cpuMicros = () => {
  const u = process.threadCpuUsage();
  return u.user + u.system;
};

function check(r: Small, a: number): void {
  if (r?.a !== a) throw new Error(`wrong result ${JSON.stringify(r)} for a=${a}`);
}

function latencies(samples: Float64Array, cpu: number, calls: number): Metrics {
  const s = sortedCopy(samples);
  return { p50_us: quantile(s, 0.5), p99_us: quantile(s, 0.99), cpu_us_per_call: cpu / calls };
}

async function roundtrip(t: Tasks, job: CompareJob): Promise<Metrics> {
  const samples = new Float64Array(job.calls);
  const cpu0 = cpuMicros();
  for (let i = 0; i < job.calls; i++) {
    const t0 = performance.now();
    check(await t.noop({ a: i }), i);
    samples[i] = (performance.now() - t0) * 1000;
  }
  return latencies(samples, cpuMicros() - cpu0, job.calls);
}

async function throughput(t: Tasks, job: CompareJob): Promise<Metrics> {
  let issued = 0;
  const lane = async () => {
    while (issued < job.calls) {
      const a = issued++;
      check(await t.noop({ a }), a);
    }
  };
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: job.inFlight ?? 256 }, lane));
  const secs = (performance.now() - t0) / 1000;
  return { calls_per_s: job.calls / secs, cpu_us_per_call: (cpuMicros() - cpu0) / job.calls };
}

// Calls spaced in time: each starts a gap after the previous one settled, so the workers go
// idle between calls as a lightly loaded server's do.
async function spaced(t: Tasks, job: CompareJob): Promise<Metrics> {
  const samples = new Float64Array(job.calls);
  const cpu0 = cpuMicros();
  for (let i = 0; i < job.calls; i++) {
    await (job.gapMs ? sleep(job.gapMs) : immediate());
    const t0 = performance.now();
    check(await t.noop({ a: i }), i);
    samples[i] = (performance.now() - t0) * 1000;
  }
  return latencies(samples, cpuMicros() - cpu0, job.calls);
}

function sync(t: Tasks, job: CompareJob): Metrics {
  const samples = new Float64Array(job.calls);
  const cpu0 = cpuMicros();
  for (let i = 0; i < job.calls; i++) {
    const t0 = performance.now();
    check(t.ping.sync({ a: i }), i);
    samples[i] = (performance.now() - t0) * 1000;
  }
  return latencies(samples, cpuMicros() - cpu0, job.calls);
}

const blocks: Record<JobKind, (t: Tasks, job: CompareJob) => Promise<Metrics> | Metrics> = {
  roundtrip,
  throughput,
  spaced,
  sync,
};

/**
 * The peer the targets name, as a third candidate: piscina in its best configuration
 * for batching (one call per message, 256 in flight per thread) and, for `.sync()`, synckit.
 */
async function peer(size: number): Promise<Tasks> {
  const { Piscina } = await import('piscina');
  const { createSyncFn } = await import('synckit');
  const pool = new Piscina({
    filename: new URL('../workers/pool-task.ts', import.meta.url).href,
    minThreads: size,
    maxThreads: size,
    idleTimeout: 1 << 30,
    concurrentTasksPerWorker: 256,
    atomics: 'async',
    recordTiming: false,
  });
  const noop = ((x: Small) => pool.run(x) as Promise<Small>) as Tasks['noop'];
  const syncFn = createSyncFn(fileURLToPath(new URL('../workers/synckit-worker.ts', import.meta.url)));
  const ping = Object.assign((x: Small) => Promise.resolve(x), { sync: (x: Small) => syncFn(x) as Small });
  return { noop, ping, configure: () => {}, getPool: () => ({ close: () => pool.destroy() }) };
}

/** Runs `job`: each build's metrics, round by round (`[build][round]`). */
export async function runJob(job: CompareJob): Promise<Metrics[][]> {
  const tasks: Tasks[] = [];
  for (const dir of job.builds) {
    if (dir === PEER) {
      tasks.push(await peer(job.size));
      continue;
    }
    const t = (await import(pathToFileURL(`${dir}/tasks.mjs`).href)) as Tasks;
    t.configure({ size: job.size });
    tasks.push(t);
  }
  const block = blocks[job.kind];
  for (const t of tasks) await block(t, job); // warm-up: JIT, worker start, discarded
  const perRound: Metrics[][] = tasks.map(() => []);
  for (let r = 0; r < job.rounds; r++) {
    for (let k = 0; k < tasks.length; k++) {
      const b = (r + k) % tasks.length;
      gc?.();
      perRound[b]!.push(await block(tasks[b]!, job));
    }
  }
  for (const t of tasks) await t.getPool().close();
  return perRound;
}

if (import.meta.filename === process.argv[1]) {
  const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as CompareJob;
  writeFileSync(process.argv[3]!, JSON.stringify(await runJob(job)));
  process.exit(0);
}
