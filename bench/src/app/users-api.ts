// Section 5: the users API in its builds, each in its own server process (./http.ts), under autocannon
// from this process: 10 connections on GET /users/:id alone, then while one more connection keeps
// calling the heavy report, and (smartasync build) next to a busy-loop process that takes one core.
// Builds are interleaved per round like every comparison.
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_REPORT_COST } from 'users-api/manager';
import { processCpuUs, threads, type Threads } from '../lib/proc.ts';
import { sum } from '../lib/stats.ts';
import { PARAMS, type Size } from '../plan.ts';
import * as http from './http.ts';

const BUILDS = http.withNotes({
  naive: 'DatabaseManager called directly on the event loop (users-api `mode: inline`)',
  'manual-piscina':
    'piscina, min = max threads = cores (as smartasync), a hand-written worker module with a named export per query (bench/src/app/queries.ts)',
  smartasync:
    'smartasync(DatabaseManager), default pool size, workers at nice 10 as the server runs them (users-api `mode: smartasync`, `DB_WORKER_NICE`)',
  'smartasync-auto':
    "the users API as shipped (`mode: smartasync-auto`, the default): SQLite's primary-key reads through smartasync(DatabaseManager, { offload: 'auto', inlineBelowMs: 0.25 }), inline while they keep finishing under 0.25 ms; every other call on a worker",
});
const [LIGHT_CONNECTIONS, REPORT_CONNECTIONS] = [10, 1];
/** `with-cpu-hog`, smartasync only, is a control: a separate process spins on one core, as the report would, without touching the server. */
const SCENARIOS = ['alone', 'with-report', 'with-cpu-hog'] as const;
type Scenario = (typeof SCENARIOS)[number];

/** CPU time per light request by thread (/proc/<pid>/task/<tid>/stat; USER_HZ = 100) and of the load generator. */
function cpuSplit(a: Threads | undefined, b: Threads | undefined, loadgenUs: number, requests: number) {
  if (!a || !b || requests === 0) return undefined;
  const per = (k: keyof Threads) => ((b[k].ticks - a[k].ticks) * 1e4) / requests;
  return { mainUs: per('main'), workersUs: per('workers'), otherUs: per('other'), loadgenUs: loadgenUs / requests };
}

/** One build in one scenario for `seconds`: the light load's figures, the report's, and what the server saw. */
async function measure(s: http.Server, scenario: Scenario, seconds: number, round: number) {
  const [t0, cpu0] = [threads(s.proc.pid!), processCpuUs()];
  const light = () => http.load(s.base, http.randomUser, LIGHT_CONNECTIONS, seconds).done;
  const { out, pool, loop } = await http.observed(s, async () => {
    if (scenario === 'with-report') return http.withReport(s, REPORT_CONNECTIONS, 300, light);
    // The hog, like the report, starts first and outlasts the light load.
    const end = `const end = Date.now() + ${Math.round((seconds + 2) * 1000)}; while (Date.now() < end);`;
    const hog = scenario === 'with-cpu-hog' ? spawn(process.execPath, ['-e', end], { stdio: 'ignore' }) : undefined;
    if (hog) await sleep(300);
    return { light: await light().finally(() => hog?.kill('SIGKILL')), report: undefined };
  });
  const report = await out.report;
  // Light-scenario CPU only: with the report running, its CPU would be charged to the light requests.
  const cpu =
    scenario === 'alone' ? cpuSplit(t0, threads(s.proc.pid!), processCpuUs() - cpu0, out.light.requests) : undefined;
  // Undefined fields are left out of results.json.
  return { build: s.build, scenario, round, light: out.light, report, pool, cpu, loop };
}

export type AppResult = Awaited<ReturnType<typeof runApp>>;

export async function runApp(o: { size: Size; log: (m: string) => void }) {
  const p = PARAMS[o.size].app;
  const measurements: Awaited<ReturnType<typeof measure>>[] = [];
  const [errors] = await http.withServers(
    BUILDS.map((b) => b.build),
    DEFAULT_REPORT_COST,
    async (servers, errors) => {
      o.log(`servers up: ${servers.map((s) => s.build).join(', ')}`);
      await http.warmUp(servers, LIGHT_CONNECTIONS, p.warmup);
      for (let round = 0; round < p.rounds; round++)
        for (const s of http.rotated(servers, round))
          for (const scenario of SCENARIOS.filter((x) => x !== 'with-cpu-hog' || s.build === 'smartasync')) {
            const m = await measure(s, scenario, p.seconds, round);
            const { requestsPerSec, p50Ms, p99Ms } = m.light;
            o.log(
              `${s.build} ${scenario}: ${requestsPerSec.toFixed(0)} req/s, p50 ${p50Ms.toFixed(2)} ms, p99 ${p99Ms.toFixed(2)} ms`,
            );
            measurements.push(m);
          }
      return errors;
    },
  );
  // Medians over rounds, but the counts are summed.
  const summary = BUILDS.flatMap(({ build }) =>
    SCENARIOS.flatMap((scenario) => {
      const ms = measurements.filter((m) => m.build === build && m.scenario === scenario);
      const med = <K extends 'light' | 'report' | 'pool' | 'cpu' | 'loop'>(k: K) =>
        http.medians(ms.flatMap((m) => m[k] ?? []));
      const [light, report, pool, cpu, loop] = [med('light'), med('report'), med('pool'), med('cpu'), med('loop')];
      for (const k of ['requests', 'errors', 'non2xx'] as const) if (light) light[k] = sum(ms, (x) => x.light[k]);
      return light ? [{ build, scenario, light, report, pool, cpu, loop }] : [];
    }),
  );
  const { seconds, rounds } = p;
  const params = { seconds, rounds, lightConnections: LIGHT_CONNECTIONS, reportConnections: REPORT_CONNECTIONS };
  const all = { ...params, users: http.USERS, reportCost: DEFAULT_REPORT_COST, builds: BUILDS };
  return { params: all, measurements, summary, errors };
}
