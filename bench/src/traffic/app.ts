// 6.4 The users API under traffic: one client looping GET /users/:id alone, the same while three
// clients loop the heavy report, and open-loop Poisson arrivals at fixed rates (latency from the
// intended send time). Then the first request after a fresh start against a warm one, the smartasync
// build also started as users start it (`npm start`). Servers and load: ../app/http.ts.
import { fileURLToPath } from 'node:url';
import { Pool, request } from 'undici';
import { DEFAULT_REPORT_COST } from 'users-api/manager';
import * as http from '../app/http.ts';
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

/** One GET on a connection of its own (`Connection: close`), timed to the end of the body. */
async function timedGet(url: string): Promise<number> {
  const t0 = performance.now();
  const { statusCode, body } = await request(url, { reset: true });
  await body.dump();
  if (statusCode !== 200) throw new Error(`${url}: HTTP ${statusCode}`);
  return performance.now() - t0;
}

const NPM_START = 'smartasync (npm start)';
export type FirstRequest = Awaited<ReturnType<typeof freshStarts>> & { error?: string };

/** users-api as `npm start` runs it: with the tracing preload (a no-op unless OTEL_* asks), DATA_MODE unset (the app's default). */
function npmStart(url: string) {
  const main = import.meta.resolve('users-api/main');
  const args = ['--import', fileURLToPath(new URL('tracing.ts', main)), fileURLToPath(main)];
  const env: NodeJS.ProcessEnv = { ...process.env, HOST: '127.0.0.1', PORT: '0', DATABASE_URL: url, LOG_LEVEL: 'info' };
  env.REPORT_COST = String(DEFAULT_REPORT_COST);
  return http.launch('smartasync', args, env, /listening at http:\/\/[^:]+:(\d+)/);
}

/** Fresh starts of one build: spawn to listening, the first request, a warm one (median of 31), worker threads before and after the first. */
async function freshStarts(build: http.Build | typeof NPM_START, url: string, starts: number, warmCalls: number) {
  const runs: (Record<'listenMs' | 'firstMs' | 'warmMs', number> &
    Record<'workersAtFirst' | 'workersAfterFirst', number | undefined>)[] = [];
  for (let k = 0; k < starts; k++) {
    const t0 = performance.now();
    const s = build === NPM_START ? await npmStart(url) : await http.startServer(build, url, DEFAULT_REPORT_COST);
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
  const entry =
    build === NPM_START
      ? 'examples/users-api/src/main.ts (npm start, the default DATA_MODE)'
      : `bench/src/app/server.ts ${build}`;
  const med = (k: 'listenMs' | 'firstMs' | 'warmMs') => median(runs.map((x) => x[k]));
  return { build, entry, starts: runs, firstMs: med('firstMs'), warmMs: med('warmMs'), listenMs: med('listenMs') };
}

type Round = { p99: number; achieved: number; errors: number; report?: { requestsPerSec: number; p50Ms: number } };
type Observed = Awaited<ReturnType<typeof http.observed<Round>>>;
export type TrafficAppResult = Awaited<ReturnType<typeof runTrafficApp>>;

export async function runTrafficApp(o: { size: Size; log: (m: string) => void }) {
  const p = TRAFFIC[o.size].app;
  // Per build and scenario: every request of every round in one histogram, and each round's figures.
  type Cell = { build: http.Build; scenario: string; rate?: number; rec: Latencies; rounds: Observed[] };
  const cells = new Map<string, Cell>();
  const measure = async (
    s: http.Server,
    scenario: string,
    rate: number | undefined,
    run: (rec: (ms: number) => void) => Promise<Omit<Round, 'p99'>>,
  ) => {
    const key = `${s.build}|${scenario}`;
    const cell =
      cells.get(key) ?? cells.set(key, { build: s.build, scenario, rate, rec: new Latencies(), rounds: [] }).get(key)!;
    const mine = new Latencies();
    const r = await http.observed(s, async () => ({
      ...(await run((ms) => (mine.record(ms), cell.rec.record(ms)))),
      p99: mine.p99(),
    }));
    mine.destroy();
    cell.rounds.push(r);
    o.log(`${s.build} ${scenario}: p99 ${r.out.p99.toFixed(2)} ms at ${r.out.achieved.toFixed(0)} req/s`);
  };
  const light = (s: http.Server, seconds: number, rec?: (ms: number) => void) =>
    http.load(s.base, http.randomUser, LIGHT_CONNECTIONS, seconds, rec).done;
  const [errors, firstRequest] = await http.withServers(
    BUILDS.map((b) => b.build),
    DEFAULT_REPORT_COST,
    async (servers, errors) => {
      o.log(`servers up: ${servers.map((s) => s.build).join(', ')}`);
      const pools = new Map(servers.map((s) => [s, new Pool(s.base, { connections: OPEN_CONNECTIONS })]));
      try {
        // Warm-up: JIT, the workers and their connections, on both endpoints and both clients; every
        // rate once, as the first run at a new rate pays for opening connections and the heaps adjusting.
        const warmup = Math.min(1, p.seconds / 3);
        await http.warmUp(servers, LIGHT_CONNECTIONS, warmup);
        for (const s of servers)
          for (const rate of p.rates) await http.openLoop(pools.get(s)!, rate, warmup, 7, () => {});
        for (let round = 0; round < p.rounds; round++)
          for (const s of http.rotated(servers, round)) {
            await measure(s, 'alone', undefined, async (rec) => {
              const f = await light(s, p.seconds, rec);
              return { achieved: f.requestsPerSec, errors: f.errors + f.non2xx };
            });
            await measure(s, 'with-report', undefined, async (rec) => {
              const leadMs = Math.min(300, p.seconds * 200);
              const both = await http.withReport(s, REPORT_CONNECTIONS, leadMs, () => light(s, p.seconds, rec));
              const [f, r] = [both.light, await both.report];
              const report = { requestsPerSec: r.requestsPerSec, p50Ms: r.p50Ms };
              return { achieved: f.requestsPerSec, errors: f.errors + f.non2xx + r.errors, report };
            });
            for (const [i, rate] of p.rates.entries())
              await measure(s, `open-${rate}`, rate, (rec) =>
                http.openLoop(pools.get(s)!, rate, p.openSeconds, 100 * round + i, rec),
              );
          }
      } finally {
        await Promise.all([...pools.values()].map((pl) => pl.close()));
      }
      return errors;
    },
    // First request after a fresh start, one build at a time on a quiet machine.
    async (url) => {
      const out: FirstRequest[] = [];
      for (const build of [NPM_START, 'smartasync', 'manual-piscina', 'naive'] as const) {
        try {
          const f = await freshStarts(build, url, p.starts, o.size === 'smoke' ? 10 : 200);
          o.log(`${build}: first request ${f.firstMs.toFixed(2)} ms, warm ${f.warmMs.toFixed(2)} ms`);
          out.push(f);
        } catch (err) {
          out.push({ build, entry: '', starts: [], firstMs: NaN, warmMs: NaN, listenMs: NaN, error: String(err) });
        }
      }
      return out;
    },
  );
  const scenarios = [...cells.values()].map(({ build, scenario, rate, rec, rounds }) => {
    const med = (f: (r: Observed) => number | undefined) => median(rounds.flatMap((r) => f(r) ?? []));
    const report = rounds.some((r) => r.out.report)
      ? { requestsPerSec: med((r) => r.out.report?.requestsPerSec), p50Ms: med((r) => r.out.report?.p50Ms) }
      : undefined;
    const [latency, p99Rounds] = [rec.dist(), spread(rounds.map((r) => r.out.p99))];
    rec.destroy();
    const [achieved, errors] = [med((r) => r.out.achieved), sum(rounds, (r) => r.out.errors)];
    const pool = http.medians(rounds.flatMap((r) => r.pool ?? []));
    const loop = http.medians(rounds.flatMap((r) => r.loop ?? []));
    // Undefined fields (rate, report, pool, loop where there are none) are left out of results.json.
    return { build, scenario, rate, achieved, latency, errors, p99Rounds, report, pool, loop };
  });
  const { rounds, seconds, openSeconds, rates } = p;
  const conns = { lightConnections: LIGHT_CONNECTIONS, reportConnections: REPORT_CONNECTIONS };
  return { rounds, seconds, openSeconds, rates, ...conns, builds: BUILDS, scenarios, firstRequest, errors };
}
