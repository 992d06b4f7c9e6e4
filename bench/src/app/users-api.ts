// Section 5: the users API in its builds, each in its own server process, under autocannon from this
// process: 10 connections on GET /users/:id alone, then while one more connection keeps calling the
// heavy report, and (smartasync build) next to a busy-loop process that takes one core. Builds are
// interleaved per round like every comparison.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_REPORT_COST } from 'users-api/manager';
import { PARAMS, type Size } from '../plan.ts';
import { threads, type Threads } from '../lib/proc.ts';
import * as http from './http.ts';
import type { Build, LoadFigures, Server } from './http.ts';

const BUILDS: { build: Build; note: string }[] = [
  { build: 'naive', note: 'DatabaseManager called directly on the event loop (users-api `mode: inline`)' },
  {
    build: 'manual-piscina',
    note: 'piscina, min = max threads = cores (as smartasync), a hand-written worker module with a named export per query (bench/src/app/queries.ts)',
  },
  { build: 'smartasync', note: 'smartasync(DatabaseManager), default pool (users-api `mode: smartasync`)' },
  {
    build: 'smartasync-auto',
    note: "smartasync(DatabaseManager, { offload: 'auto' }): calls that keep finishing under 0.1 ms run inline (users-api `mode: smartasync-auto`)",
  },
];
const LIGHT_CONNECTIONS = 10;
const REPORT_CONNECTIONS = 1;
/**
 * `with-cpu-hog` is a control, smartasync build only: a separate process spins on one core for the whole
 * measurement, taking the CPU the report would take without touching the server.
 */
export type Scenario = 'alone' | 'with-report' | 'with-cpu-hog';

/** CPU time per light request by thread (/proc/<pid>/task/<tid>/stat; USER_HZ = 100) and of the load generator. */
function cpuSplit(a: Threads | undefined, b: Threads | undefined, loadgenUs: number, requests: number) {
  if (!a || !b || requests === 0) return undefined;
  const per = (k: keyof Threads) => ((b[k].ticks - a[k].ticks) * 1e4) / requests;
  return { mainUs: per('main'), workersUs: per('workers'), otherUs: per('other'), loadgenUs: loadgenUs / requests };
}
const ownCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function measure(s: Server, scenario: Scenario, seconds: number, round: number) {
  const before = await http.poolCounters(s);
  await http.loopDelay(s); // resets the histogram
  const [t0, cpu0] = [threads(s.proc.pid!), ownCpuUs()];
  const light = () => http.load(s.base, http.randomUser, LIGHT_CONNECTIONS, seconds).done;
  let report: LoadFigures | undefined;
  let lightFigures: LoadFigures;
  if (scenario === 'alone') lightFigures = await light();
  else if (scenario === 'with-cpu-hog') {
    const end = `const end = Date.now() + ${Math.round((seconds + 2) * 1000)}; while (Date.now() < end);`;
    const hog = spawn(process.execPath, ['-e', end], { stdio: 'ignore' });
    try {
      await sleep(300);
      lightFigures = await light();
    } finally {
      hog.kill('SIGKILL');
    }
  } else {
    // The report load starts first and outlasts the light load: every light request overlaps reports.
    const r = http.load(s.base, '/reports/users', REPORT_CONNECTIONS, seconds + 30);
    await sleep(300);
    lightFigures = await light();
    r.stop();
    report = await r.done;
  }
  // Light-scenario CPU only: with the report running, its CPU would be charged to the light requests.
  const cpu =
    scenario === 'alone' ? cpuSplit(t0, threads(s.proc.pid!), ownCpuUs() - cpu0, lightFigures.requests) : undefined;
  const loop = await http.loopDelay(s);
  const pool = http.poolDelta(before, await http.poolCounters(s));
  return {
    build: s.build,
    scenario,
    round,
    light: lightFigures,
    ...(report && { report }),
    ...(pool && { pool }),
    ...(cpu && { cpu }),
    ...(loop && { loop }),
  };
}

export type AppResult = Awaited<ReturnType<typeof runApp>>;

export async function runApp(o: { size: Size; log: (m: string) => void; builds?: Build[] }) {
  const p = PARAMS[o.size].app;
  const dir = mkdtempSync(join(tmpdir(), 'smartasync-bench-app-'));
  const url = `sqlite:${join(dir, 'users.db')}`;
  const reportCost = DEFAULT_REPORT_COST;
  const builds = BUILDS.filter((b) => !o.builds || o.builds.includes(b.build));
  const params = { seconds: p.seconds, rounds: p.rounds, lightConnections: LIGHT_CONNECTIONS };
  const measurements: Awaited<ReturnType<typeof measure>>[] = [];
  const errors: { build: Build; error: string }[] = [];
  const servers: Server[] = [];
  try {
    http.seed(url);
    const started = await Promise.allSettled(builds.map((b) => http.startServer(b.build, url, reportCost)));
    started.forEach((s, i) =>
      s.status === 'fulfilled'
        ? servers.push(s.value)
        : errors.push({ build: builds[i]!.build, error: String(s.reason) }),
    );
    o.log(`servers up: ${servers.map((s) => s.build).join(', ')}`);
    for (const s of servers) {
      // Warm-up: JIT, lazily started workers and their connections, on both endpoints.
      await http.load(s.base, http.randomUser, LIGHT_CONNECTIONS, p.warmup).done;
      await fetch(`${s.base}/reports/users`).then((r) => r.arrayBuffer());
    }
    for (let round = 0; round < p.rounds; round++) {
      const k = round % Math.max(1, servers.length);
      for (const s of [...servers.slice(k), ...servers.slice(0, k)]) {
        const scenarios: Scenario[] = [
          'alone',
          'with-report',
          ...(s.build === 'smartasync' ? ['with-cpu-hog' as const] : []),
        ];
        for (const scenario of scenarios) {
          const m = await measure(s, scenario, p.seconds, round);
          const f2 = (x: number) => x.toFixed(2);
          o.log(
            `${s.build} ${scenario}: ${m.light.requestsPerSec.toFixed(0)} req/s, p50 ${f2(m.light.p50Ms)} ms, p99 ${f2(m.light.p99Ms)} ms` +
              (m.report ? `; report ${m.report.requestsPerSec.toFixed(1)} req/s` : '') +
              (m.pool ? `; pool wait ${m.pool.meanWaitMs.toFixed(3)} ms/call` : '') +
              (m.loop ? `; loop delay p99 ${f2(m.loop.p99Ms)} ms` : ''),
          );
          measurements.push(m);
        }
      }
    }
  } finally {
    await Promise.all(servers.map(http.stopServer));
    rmSync(dir, { recursive: true, force: true });
  }
  const summary = builds.flatMap(({ build }) =>
    (['alone', 'with-report', 'with-cpu-hog'] as Scenario[]).flatMap((scenario) => {
      const ms = measurements.filter((m) => m.build === build && m.scenario === scenario);
      if (!ms.length) return [];
      const med = <K extends 'report' | 'pool' | 'cpu' | 'loop'>(k: K) =>
        http.medians(ms.flatMap((m) => (m[k] ? [m[k]!] : [])));
      // Medians over rounds, but the counts are summed.
      const figures = (xs: LoadFigures[] | undefined) => {
        const f = xs?.length ? { ...http.medians(xs)! } : undefined;
        for (const k of ['requests', 'errors', 'non2xx'] as const) if (f) f[k] = xs!.reduce((n, x) => n + x[k], 0);
        return f;
      };
      const light = figures(ms.map((m) => m.light))!;
      const report = figures(ms.flatMap((m) => (m.report ? [m.report] : [])));
      const [pool, cpu, loop] = [med('pool'), med('cpu'), med('loop')];
      return [
        {
          build,
          scenario,
          light,
          ...(report && { report }),
          ...(pool && { pool }),
          ...(cpu && { cpu }),
          ...(loop && { loop }),
        },
      ];
    }),
  );
  return {
    params: { ...params, reportConnections: REPORT_CONNECTIONS, users: http.USERS, reportCost, builds },
    measurements,
    summary,
    errors,
  };
}
