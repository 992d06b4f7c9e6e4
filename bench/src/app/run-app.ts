// Section 5: the users API in three builds, each in its own server process, loaded with
// autocannon from this process: the light endpoint alone, then while the heavy report is
// called concurrently. Builds are interleaved per round like the other comparisons.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import { DatabaseManager, DEFAULT_REPORT_COST } from 'users-api/manager';
import { migrate } from 'users-api/migrate';
import { PARAMS, type Size } from '../plan.ts';
import { quantile, sortedCopy } from '../stats.ts';
import { HELPER_THREAD } from '../threads.ts';
import type {
  AppMeasurement,
  AppResult,
  Build,
  CpuSplit,
  LoadFigures,
  LoopDelay,
  PoolDelta,
  Scenario,
} from './types.ts';

const serverEntry = fileURLToPath(new URL('./server.ts', import.meta.url));
const BUILDS: { build: Build; note: string }[] = [
  { build: 'naive', note: 'DatabaseManager called directly on the event loop (users-api `mode: inline`)' },
  {
    build: 'manual-piscina',
    note: 'piscina, min = max threads = cores (as smartasync), a hand-written worker module with a named export per query (bench/src/app/queries.ts)',
  },
  { build: 'smartasync', note: 'smartasync(DatabaseManager), default pool (users-api `mode: smartasync`)' },
  {
    build: 'smartasync-auto',
    note: "the users API as shipped (`mode: smartasync-auto`, the default): SQLite's primary-key reads through smartasync(DatabaseManager, { offload: 'auto', inlineBelowMs: 0.25 }), inline while they keep finishing under 0.25 ms; every other call on a worker",
  },
];
export const USERS = 1000;
const LIGHT_CONNECTIONS = 10;
const REPORT_CONNECTIONS = 1;

export async function seed(url: string): Promise<void> {
  await migrate(url);
  const db = new DatabaseManager(url);
  try {
    for (let i = 1; i <= USERS; i++) db.createUser({ name: `User ${i}`, email: `user${i}@example${i % 17}.com` });
    for (let i = 1; i <= 20; i++) db.createAccount({ owner: `Owner ${i}`, balance: 100_000 });
    for (let i = 1; i <= 200; i++) db.transfer({ from: 1 + (i % 20), to: 1 + ((i + 7) % 20), amount: 10 });
  } finally {
    db.close();
  }
}

export interface Server {
  build: Build;
  proc: ChildProcess;
  base: string;
}

export function startServer(build: Build, url: string, reportCost: number): Promise<Server> {
  return launch(build, [serverEntry, build, url, String(reportCost)], undefined, /PORT (\d+)/);
}

/** Spawns a server process and resolves once its stdout matches `port` (the port in group 1). */
export function launch(
  build: Build,
  args: string[],
  env: NodeJS.ProcessEnv | undefined,
  port: RegExp,
): Promise<Server> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], ...(env ? { env } : {}) });
    let out = '';
    let listening = false;
    const timer = setTimeout(() => reject(new Error(`${build} server did not start in 30 s`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      // Read on after listening (a server that logs would block on a full pipe), keep nothing.
      if (listening) return;
      out += d.toString();
      const m = port.exec(out);
      if (m) {
        listening = true;
        clearTimeout(timer);
        resolve({ build, proc, base: `http://127.0.0.1:${m[1]}` });
      }
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${build} server exited with ${code} before listening`));
    });
  });
}

export async function stopServer(s: Server): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((res) => s.proc.once('exit', res));
  s.proc.kill('SIGTERM');
  await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
  if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
}

interface Load {
  done: Promise<LoadFigures>;
  stop(): void;
}

// autocannon's own histogram keeps whole milliseconds; sub-millisecond latencies need the
// per-response durations (float ms), so they are collected here.
export function load(url: string, connections: number, seconds: number, randomUser: boolean): Load {
  const latencies: number[] = [];
  let instance: ReturnType<typeof autocannon> | undefined;
  const done = new Promise<LoadFigures>((resolve, reject) => {
    instance = autocannon(
      {
        url,
        connections,
        duration: seconds,
        timeout: 30,
        ...(randomUser
          ? {
              requests: [
                {
                  setupRequest: (req) => ({ ...req, path: `/users/${1 + Math.floor(Math.random() * USERS)}` }),
                },
              ],
            }
          : {}),
      },
      (err: Error | null, r: Result) => {
        if (err) return reject(err);
        const s = sortedCopy(latencies);
        resolve({
          requestsPerSec: r.requests.total / r.duration,
          p50Ms: quantile(s, 0.5),
          p90Ms: quantile(s, 0.9),
          p99Ms: quantile(s, 0.99),
          maxMs: s.length ? (s[s.length - 1] as number) : Number.NaN,
          requests: r.requests.total,
          errors: r.errors + r.timeouts,
          non2xx: r.non2xx,
          over2msShare: s.length ? latencies.filter((ms) => ms > 2).length / s.length : 0,
          over10msShare: s.length ? latencies.filter((ms) => ms > 10).length / s.length : 0,
        });
      },
    );
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
  });
  return { done, stop: () => instance?.stop() };
}

export interface PoolCounters {
  calls: number;
  waitS: number;
  runS: number;
  maxWaitS: number;
}

// The smartasync build exposes its pool statistics on /metrics: the difference over one
// measurement says how long calls waited for a worker, which is where a light request stuck
// behind a report loses its time.
export async function poolCounters(s: Server): Promise<PoolCounters | undefined> {
  if (s.build !== 'smartasync') return undefined;
  const text = await (await fetch(`${s.base}/metrics`)).text();
  const read = (name: string) => Number(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  return {
    calls: read('smartasync_pool_completed_calls_total'),
    waitS: read('smartasync_pool_wait_seconds_total'),
    runS: read('smartasync_pool_run_seconds_total'),
    maxWaitS: read('smartasync_pool_wait_seconds_max'),
  };
}

export function poolDelta(a: PoolCounters | undefined, b: PoolCounters | undefined): PoolDelta | undefined {
  if (!a || !b || !(b.calls > a.calls)) return undefined;
  const n = b.calls - a.calls;
  return {
    calls: n,
    meanWaitMs: ((b.waitS - a.waitS) * 1000) / n,
    meanRunMs: ((b.runS - a.runS) * 1000) / n,
    maxWaitMs: b.maxWaitS * 1000,
  };
}

const TICK_US = 1e6 / 100; // /proc reports CPU time in USER_HZ ticks, 100 per second on Linux

interface ThreadTimes {
  main: number;
  workers: number;
  other: number;
}

// Per-thread CPU of a server process, threads told apart as in ../threads.ts.
function threadTimes(pid: number): ThreadTimes | undefined {
  const t: ThreadTimes = { main: 0, workers: 0, other: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of stat; `fields` starts at field 3.
      const ticks = Number(fields[11]) + Number(fields[12]);
      if (tid === String(pid)) t.main += ticks;
      else if (HELPER_THREAD.test(comm)) t.other += ticks;
      else t.workers += ticks;
    }
  } catch {
    return undefined; // not Linux, or the process is gone
  }
  return t;
}

function cpuSplit(
  a: ThreadTimes | undefined,
  b: ThreadTimes | undefined,
  loadgenUs: number,
  requests: number,
): CpuSplit | undefined {
  if (!a || !b || requests === 0) return undefined;
  const per = (ticks: number) => (ticks * TICK_US) / requests;
  return {
    mainUs: per(b.main - a.main),
    workersUs: per(b.workers - a.workers),
    otherUs: per(b.other - a.other),
    loadgenUs: loadgenUs / requests,
  };
}

function ownCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

export async function loopDelay(s: Server): Promise<LoopDelay | undefined> {
  try {
    return (await (await fetch(`${s.base}/__bench/event-loop`)).json()) as LoopDelay;
  } catch {
    return undefined;
  }
}

async function measure(s: Server, scenario: Scenario, seconds: number, round: number): Promise<AppMeasurement> {
  const light = `${s.base}/users/1`;
  const before = await poolCounters(s);
  await loopDelay(s); // resets the histogram
  const times0 = threadTimes(s.proc.pid!);
  const loadgen0 = ownCpuUs();
  const withPool = async (m: AppMeasurement): Promise<AppMeasurement> => {
    // Light-scenario CPU only: with the report running, its CPU would be charged to the light
    // requests.
    const cpu =
      scenario === 'alone'
        ? cpuSplit(times0, threadTimes(s.proc.pid!), ownCpuUs() - loadgen0, m.light.requests)
        : undefined;
    const loop = await loopDelay(s);
    const pool = poolDelta(before, await poolCounters(s));
    return { ...m, ...(pool ? { pool } : {}), ...(cpu ? { cpu } : {}), ...(loop ? { loop } : {}) };
  };
  if (scenario === 'alone') {
    return withPool({
      build: s.build,
      scenario,
      round,
      light: await load(light, LIGHT_CONNECTIONS, seconds, true).done,
    });
  }
  if (scenario === 'with-cpu-hog') {
    const hog = spawn(
      process.execPath,
      ['-e', `const end = Date.now() + ${Math.round((seconds + 2) * 1000)}; while (Date.now() < end);`],
      { stdio: 'ignore' },
    );
    try {
      await sleep(300);
      return withPool({
        build: s.build,
        scenario,
        round,
        light: await load(light, LIGHT_CONNECTIONS, seconds, true).done,
      });
    } finally {
      hog.kill('SIGKILL');
    }
  }
  // The report load starts first and outlasts the light load, so every light request of the
  // measurement overlaps report requests.
  const report = load(`${s.base}/reports/users`, REPORT_CONNECTIONS, seconds + 30, false);
  await sleep(300);
  const lightFigures = await load(light, LIGHT_CONNECTIONS, seconds, true).done;
  report.stop();
  return withPool({ build: s.build, scenario, round, light: lightFigures, report: await report.done });
}

function medianFigures(xs: LoadFigures[]): LoadFigures {
  const med = (k: keyof LoadFigures) => quantile(sortedCopy(xs.map((x) => x[k])), 0.5);
  return {
    requestsPerSec: med('requestsPerSec'),
    p50Ms: med('p50Ms'),
    p90Ms: med('p90Ms'),
    p99Ms: med('p99Ms'),
    maxMs: med('maxMs'),
    requests: xs.reduce((n, x) => n + x.requests, 0),
    errors: xs.reduce((n, x) => n + x.errors, 0),
    non2xx: xs.reduce((n, x) => n + x.non2xx, 0),
    over2msShare: med('over2msShare'),
    over10msShare: med('over10msShare'),
  };
}

export async function runApp(o: { size: Size; log: (m: string) => void; builds?: Build[] }): Promise<AppResult> {
  const p = PARAMS[o.size].app;
  const dir = mkdtempSync(join(tmpdir(), 'smartasync-bench-app-'));
  const url = `sqlite:${join(dir, 'users.db')}`;
  const reportCost = DEFAULT_REPORT_COST;
  const builds = BUILDS.filter((b) => !o.builds || o.builds.includes(b.build));
  const result: AppResult = {
    params: {
      seconds: p.seconds,
      rounds: p.rounds,
      lightConnections: LIGHT_CONNECTIONS,
      reportConnections: REPORT_CONNECTIONS,
      users: USERS,
      reportCost,
      builds,
    },
    measurements: [],
    summary: [],
    errors: [],
  };
  const servers: Server[] = [];
  try {
    await seed(url);
    const started = await Promise.allSettled(builds.map((b) => startServer(b.build, url, reportCost)));
    started.forEach((s, i) => {
      if (s.status === 'fulfilled') servers.push(s.value);
      else result.errors.push({ build: builds[i]!.build, error: String(s.reason) });
    });
    o.log(`servers up: ${servers.map((s) => s.build).join(', ')}`);
    for (const s of servers) {
      // Warm-up: JIT, lazily started workers and their connections, on both endpoints.
      await load(`${s.base}/users/1`, LIGHT_CONNECTIONS, p.warmup, true).done;
      await fetch(`${s.base}/reports/users`).then((r) => r.arrayBuffer());
    }
    for (let round = 0; round < p.rounds; round++) {
      const k = round % Math.max(1, servers.length);
      for (const s of [...servers.slice(k), ...servers.slice(0, k)]) {
        const scenarios: Scenario[] =
          s.build === 'smartasync' ? ['alone', 'with-report', 'with-cpu-hog'] : ['alone', 'with-report'];
        for (const scenario of scenarios) {
          const m = await measure(s, scenario, p.seconds, round);
          o.log(
            `${s.build} ${scenario}: ${m.light.requestsPerSec.toFixed(0)} req/s, p50 ${m.light.p50Ms.toFixed(2)} ms, p99 ${m.light.p99Ms.toFixed(2)} ms` +
              (m.report ? `; report ${m.report.requestsPerSec.toFixed(1)} req/s` : '') +
              (m.pool ? `; pool wait ${m.pool.meanWaitMs.toFixed(3)} ms/call` : '') +
              (m.loop ? `; loop delay p99 ${m.loop.p99Ms.toFixed(2)} ms` : '') +
              (m.cpu
                ? `; CPU µs/req main ${m.cpu.mainUs.toFixed(1)} workers ${m.cpu.workersUs.toFixed(1)} other ${m.cpu.otherUs.toFixed(1)} loadgen ${m.cpu.loadgenUs.toFixed(1)}`
                : ''),
          );
          result.measurements.push(m);
        }
      }
    }
  } finally {
    await Promise.all(servers.map(stopServer));
    rmSync(dir, { recursive: true, force: true });
  }
  for (const b of builds) {
    for (const scenario of ['alone', 'with-report', 'with-cpu-hog'] as Scenario[]) {
      const ms = result.measurements.filter((m) => m.build === b.build && m.scenario === scenario);
      if (!ms.length) continue;
      const reports = ms.flatMap((m) => (m.report ? [m.report] : []));
      const pools = ms.flatMap((m) => (m.pool ? [m.pool] : []));
      const medPool = (k: keyof PoolDelta) => quantile(sortedCopy(pools.map((p) => p[k])), 0.5);
      const loops = ms.flatMap((m) => (m.loop ? [m.loop] : []));
      const medLoop = (k: keyof LoopDelay) => quantile(sortedCopy(loops.map((l) => l[k])), 0.5);
      const cpus = ms.flatMap((m) => (m.cpu ? [m.cpu] : []));
      const medCpu = (k: keyof CpuSplit) => quantile(sortedCopy(cpus.map((c) => c[k])), 0.5);
      result.summary.push({
        build: b.build,
        scenario,
        light: medianFigures(ms.map((m) => m.light)),
        ...(reports.length ? { report: medianFigures(reports) } : {}),
        ...(pools.length
          ? {
              pool: {
                calls: medPool('calls'),
                meanWaitMs: medPool('meanWaitMs'),
                meanRunMs: medPool('meanRunMs'),
                maxWaitMs: medPool('maxWaitMs'),
              },
            }
          : {}),
        ...(loops.length
          ? { loop: { p50Ms: medLoop('p50Ms'), p99Ms: medLoop('p99Ms'), maxMs: medLoop('maxMs') } }
          : {}),
        ...(cpus.length
          ? {
              cpu: {
                mainUs: medCpu('mainUs'),
                workersUs: medCpu('workersUs'),
                otherUs: medCpu('otherUs'),
                loadgenUs: medCpu('loadgenUs'),
              },
            }
          : {}),
      });
    }
  }
  return result;
}
