// 6.4 The users API under traffic: one client looping GET /users/:id alone, the same while three
// clients loop the heavy report, and open-loop Poisson arrivals at fixed rates (latency from the
// intended send time). Then the first request after a fresh start against a warm one, the smartasync
// build also started as users start it (`npm start`). Servers and load: ../app/http.ts.
import { get } from 'node:http';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { DEFAULT_REPORT_COST } from 'users-api/manager';
import * as http from '../app/http.ts';
import type { Build } from '../app/http.ts';
import { workerThreads } from '../lib/proc.ts';
import { Latencies, median, spread, sum } from '../lib/stats.ts';
import { TRAFFIC, type Size } from '../plan.ts';

const BUILDS = http.withNotes({
  smartasync: 'smartasync(DatabaseManager), default pool and options (users-api `mode: smartasync`)',
  'manual-piscina':
    'piscina, min = max threads = cores, a hand-written worker module with a named export per query (bench/src/app/queries.ts)',
  naive: 'DatabaseManager called directly on the event loop (users-api `mode: inline`): no offload, for reference',
});
const [LIGHT_CONNECTIONS, REPORT_CONNECTIONS] = [1, 3];
// Enough that a request never waits for a free connection below saturation.
const OPEN_CONNECTIONS = 32;

/** One GET on a new connection, timed to the end of the body. */
const timedGet = (url: string) =>
  new Promise<number>((resolve, reject) => {
    const t0 = performance.now();
    get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
      );
    }).on('error', reject);
  });

type FirstBuild = Build | 'smartasync (npm start)';
export type FirstRequest = Awaited<ReturnType<typeof freshStarts>> & { error?: string };

/** Fresh starts of one build: spawn to listening, the first request, a warm one (median of 31), worker threads before and after the first. */
async function freshStarts(kind: FirstBuild, url: string, starts: number, warmCalls: number) {
  const main = kind === 'smartasync (npm start)';
  const entry = main
    ? 'examples/users-api/src/main.ts (npm start, the default DATA_MODE)'
    : `bench/src/app/server.ts ${kind}`;
  // DATA_MODE unset: the app's default, as shipped.
  const env = { ...process.env, HOST: '127.0.0.1', PORT: '0', DATABASE_URL: url, LOG_LEVEL: 'info' };
  type Start = Record<'listenMs' | 'firstMs' | 'warmMs', number> &
    Record<'workersAtFirst' | 'workersAfterFirst', number | undefined>;
  const runs: Start[] = [];
  for (let k = 0; k < starts; k++) {
    const t0 = performance.now();
    const s = main
      ? await http.launch(
          'smartasync',
          // As `npm start` runs it: with the tracing preload (a no-op unless OTEL_* asks).
          [
            '--import',
            fileURLToPath(new URL('tracing.ts', import.meta.resolve('users-api/main'))),
            fileURLToPath(import.meta.resolve('users-api/main')),
          ],
          { ...env, REPORT_COST: String(DEFAULT_REPORT_COST) },
          /listening at http:\/\/[^:]+:(\d+)/,
        )
      : await http.startServer(kind, url, DEFAULT_REPORT_COST);
    try {
      const listenMs = performance.now() - t0;
      const workersAtFirst = workerThreads(s.proc.pid!);
      const firstMs = await timedGet(`${s.base}/users/1`);
      const workersAfterFirst = workerThreads(s.proc.pid!);
      for (let i = 0; i < warmCalls; i++) await timedGet(`${s.base}/users/${1 + (i % http.USERS)}`);
      const warm: number[] = [];
      for (let i = 0; i < 31; i++) warm.push(await timedGet(`${s.base}/users/${2 + i}`));
      runs.push({ listenMs, firstMs, warmMs: median(warm), workersAtFirst, workersAfterFirst });
    } finally {
      await http.stopServer(s);
    }
  }
  const med = (k: 'listenMs' | 'firstMs' | 'warmMs') => median(runs.map((x) => x[k]));
  const [firstMs, warmMs, listenMs] = [med('firstMs'), med('warmMs'), med('listenMs')];
  return { build: kind, entry, starts: runs, firstMs, warmMs, listenMs };
}

type Round = { p99: number; achieved: number; errors: number; report?: { requestsPerSec: number; p50Ms: number } };
type Observed = Awaited<ReturnType<typeof http.observed<Round>>>;
export type TrafficAppResult = Awaited<ReturnType<typeof runTrafficApp>>;

export async function runTrafficApp(o: { size: Size; log: (m: string) => void }) {
  const p = TRAFFIC[o.size].app;
  // Per build and scenario: every request of every round in one histogram, and each round's figures.
  type Cell = { build: Build; scenario: string; rate?: number; rec: Latencies; rounds: Observed[] };
  const cells = new Map<string, Cell>();
  const [[scenarios, errors], firstRequest] = await http.withServers(
    BUILDS.map((b) => b.build),
    DEFAULT_REPORT_COST,
    async (servers, errors) => {
      o.log(`servers up: ${servers.map((s) => s.build).join(', ')}`);
      const pools = new Map(servers.map((s) => [s, new Pool(s.base, { connections: OPEN_CONNECTIONS })]));
      const warmup = Math.min(1, p.seconds / 3);
      const light = (base: string, seconds: number, rec?: (ms: number) => void) =>
        http.load(base, http.randomUser, LIGHT_CONNECTIONS, seconds, rec).done;
      try {
        for (const s of servers) {
          // Warm-up: JIT, the workers and their connections, on both endpoints and both clients; every
          // rate once, as the first run at a new rate pays for opening connections and the heaps adjusting.
          await light(s.base, warmup);
          await fetch(`${s.base}/reports/users`).then((r) => r.arrayBuffer());
          for (const rt of p.rates) await http.openLoop(pools.get(s)!, rt, warmup, 7, () => {});
        }
        await http.interleaved(p.rounds, servers, async (s, round) => {
          const measure = async (
            scenario: string,
            rate: number | undefined,
            run: (rec: (ms: number) => void) => Promise<Omit<Round, 'p99'>>,
          ) => {
            const key = `${s.build}|${scenario}`;
            const cell =
              cells.get(key) ??
              cells.set(key, { build: s.build, scenario, rate, rec: new Latencies(), rounds: [] }).get(key)!;
            const mine = new Latencies();
            const r = await http.observed(s, async () => ({
              ...(await run((ms) => (mine.record(ms), cell.rec.record(ms)))),
              p99: mine.p99(),
            }));
            mine.destroy();
            cell.rounds.push(r);
            o.log(`${s.build} ${scenario}: p99 ${r.out.p99.toFixed(2)} ms at ${r.out.achieved.toFixed(0)} req/s`);
          };
          const closed = (f: Awaited<ReturnType<typeof light>>) => ({
            achieved: f.requestsPerSec,
            errors: f.errors + f.non2xx,
          });
          await measure('alone', undefined, async (rec) => closed(await light(s.base, p.seconds, rec)));
          await measure('with-report', undefined, async (rec) => {
            // The report load starts first and outlasts the light load.
            const report = http.load(s.base, '/reports/users', REPORT_CONNECTIONS, p.seconds + 30);
            await new Promise((r) => setTimeout(r, Math.min(300, p.seconds * 200)));
            const f = await light(s.base, p.seconds, rec);
            report.stop();
            const r = await report.done;
            return {
              ...closed(f),
              errors: f.errors + f.non2xx + r.errors,
              report: { requestsPerSec: r.requestsPerSec, p50Ms: r.p50Ms },
            };
          });
          for (const [i, rate] of p.rates.entries())
            await measure(`open-${rate}`, rate, (rec) =>
              http.openLoop(pools.get(s)!, rate, p.openSeconds, 100 * round + i, rec),
            );
        });
      } finally {
        await Promise.all([...pools.values()].map((pl) => pl.close()));
      }
      const scenarios = [...cells.values()].map(({ build, scenario, rate, rec, rounds }) => {
        const med = (f: (r: Observed) => number | undefined) => median(rounds.flatMap((r) => f(r) ?? []));
        const pool = http.medians(rounds.flatMap((r) => r.pool ?? []));
        const loop = http.medians(rounds.flatMap((r) => r.loop ?? []));
        const report = rounds.some((r) => r.out.report)
          ? { requestsPerSec: med((r) => r.out.report?.requestsPerSec), p50Ms: med((r) => r.out.report?.p50Ms) }
          : undefined;
        const [latency, achieved, errors] = [rec.dist(), med((r) => r.out.achieved), sum(rounds, (r) => r.out.errors)];
        const p99Rounds = spread(rounds.map((r) => r.out.p99));
        rec.destroy();
        // Undefined fields (rate, report, pool, loop where there are none) are left out of results.json.
        return { build, scenario, rate, achieved, latency, errors, p99Rounds, report, pool, loop };
      });
      return [scenarios, errors] as const;
    },
    // First request after a fresh start, one build at a time on a quiet machine.
    async (url) => {
      const out: FirstRequest[] = [];
      for (const kind of ['smartasync (npm start)', 'smartasync', 'manual-piscina', 'naive'] as const) {
        try {
          out.push(await freshStarts(kind, url, p.starts, o.size === 'smoke' ? 10 : 200));
          o.log(
            `${kind}: first request ${out.at(-1)!.firstMs.toFixed(2)} ms, warm ${out.at(-1)!.warmMs.toFixed(2)} ms`,
          );
        } catch (err) {
          const none = { entry: '', starts: [], firstMs: NaN, warmMs: NaN, listenMs: NaN };
          out.push({ build: kind, ...none, error: String(err) });
        }
      }
      return out;
    },
  );
  const { rounds, seconds, openSeconds, rates } = p;
  const conns = { lightConnections: LIGHT_CONNECTIONS, reportConnections: REPORT_CONNECTIONS };
  return { rounds, seconds, openSeconds, rates, ...conns, builds: BUILDS, scenarios, firstRequest, errors };
}
