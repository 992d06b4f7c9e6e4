// 6.4 The users API under traffic: one autocannon client looping GET /users/:id alone, the same while
// three clients loop the heavy report, and open-loop Poisson arrivals at fixed rates from an undici
// client (latency from the intended send time). Then the first request after a fresh start against a
// warm one, the smartasync build also started as users start it (`npm start`).
import { get } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Pool } from 'undici';
import { DEFAULT_REPORT_COST } from 'users-api/manager';
import * as http from '../app/http.ts';
import type { LoopDelay, PoolDelta, Server } from '../app/http.ts';
import { pace, poisson, rng } from '../lib/arrivals.ts';
import { workerThreads } from '../lib/proc.ts';
import { Latencies, quantile, sortedCopy, spread } from '../lib/stats.ts';
import { TRAFFIC, type Size } from '../plan.ts';

export type AppBuild = 'smartasync' | 'manual-piscina' | 'naive';
const BUILDS: { build: AppBuild; note: string }[] = [
  { build: 'smartasync', note: 'smartasync(DatabaseManager), default pool and options (users-api `mode: smartasync`)' },
  {
    build: 'manual-piscina',
    note: 'piscina, min = max threads = cores, a hand-written worker module with a named export per query (bench/src/app/queries.ts)',
  },
  {
    build: 'naive',
    note: 'DatabaseManager called directly on the event loop (users-api `mode: inline`): no offload, for reference',
  },
];
const [LIGHT_CONNECTIONS, REPORT_CONNECTIONS] = [1, 3];
// Enough that a request never waits for a free connection below saturation.
const OPEN_CONNECTIONS = 32;

/** Poisson arrivals at `rate` req/s on GET /users/:id; latency from each request's intended send time. */
async function openLoopHttp(pool: Pool, rate: number, seconds: number, seed: number, recs: Latencies[]) {
  const ids = rng(seed + 1);
  let errors = 0;
  const t0 = performance.now();
  await pace(poisson(rate, rng(seed)), seconds * 1000, async (_i, intended) => {
    try {
      const res = await pool.request({ path: `/users/${1 + Math.floor(ids() * http.USERS)}`, method: 'GET' });
      await res.body.dump();
      if (res.statusCode !== 200) errors++;
      for (const r of recs) r.record(performance.now() - intended);
    } catch {
      errors++;
    }
  });
  return { achieved: (recs[0]?.count ?? 0) / ((performance.now() - t0) / 1000), errors };
}

/**
 * Closed loop: `clients` connections, each sending its next request once the previous response is read,
 * until `until` settles (requests in flight then are finished and counted: the slowest are not dropped).
 */
async function closedLoop(
  base: string,
  clients: number,
  path: () => string,
  until: Promise<unknown>,
  recs: Latencies[],
) {
  let running = true;
  void until.then(() => (running = false));
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const client = async () => {
    const c = new Client(base);
    for (let s = performance.now(); running; s = performance.now()) {
      const res = await c.request({ path: path(), method: 'GET' }).catch(() => undefined);
      await res?.body.dump();
      if (res?.statusCode !== 200) errors++;
      lat.push(performance.now() - s);
      for (const r of recs) r.record(lat.at(-1)!);
    }
    await c.close();
  };
  await Promise.all(Array.from({ length: clients }, client));
  return { achieved: lat.length / ((performance.now() - t0) / 1000), errors, p50: quantile(sortedCopy(lat), 0.5) };
}

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

export interface FirstRequest {
  build: AppBuild | 'smartasync (npm start)';
  /** how the server was started */
  entry: string;
  /** per fresh start: spawn to listening, the first request, a warm one (median of 31), worker threads before and after the first */
  starts: { listenMs: number; firstMs: number; warmMs: number; workersAtFirst?: number; workersAfterFirst?: number }[];
  firstMs: number;
  warmMs: number;
  listenMs: number;
  error?: string;
}

async function firstRequest(
  kind: FirstRequest['build'],
  url: string,
  reportCost: number,
  starts: number,
  warmCalls: number,
): Promise<FirstRequest> {
  const main = kind === 'smartasync (npm start)';
  const entry = main
    ? 'examples/users-api/src/main.ts (npm start), DATA_MODE=smartasync'
    : `bench/src/app/server.ts ${kind}`;
  const env = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_MODE: 'smartasync',
    DATABASE_URL: url,
    REPORT_COST: String(reportCost),
    LOG_LEVEL: 'info',
  };
  const mainEntry = fileURLToPath(import.meta.resolve('users-api/main'));
  const runs: FirstRequest['starts'] = [];
  for (let k = 0; k < starts; k++) {
    const t0 = performance.now();
    const s = main
      ? await http.launch('smartasync', [mainEntry], env, /listening at http:\/\/[^:]+:(\d+)/)
      : await http.startServer(kind, url, reportCost);
    try {
      const listenMs = performance.now() - t0;
      const workersAtFirst = workerThreads(s.proc.pid!);
      const firstMs = await timedGet(`${s.base}/users/1`);
      const workersAfterFirst = workerThreads(s.proc.pid!);
      for (let i = 0; i < warmCalls; i++) await timedGet(`${s.base}/users/${1 + (i % http.USERS)}`);
      const warm: number[] = [];
      for (let i = 0; i < 31; i++) warm.push(await timedGet(`${s.base}/users/${2 + i}`));
      const threads = {
        ...(workersAtFirst !== undefined && { workersAtFirst }),
        ...(workersAfterFirst !== undefined && { workersAfterFirst }),
      };
      runs.push({ listenMs, firstMs, warmMs: warm.sort((a, b) => a - b)[15]!, ...threads });
    } finally {
      await http.stopServer(s);
    }
  }
  const med = (k: 'listenMs' | 'firstMs' | 'warmMs') => spread(runs.map((x) => x[k])).median;
  return {
    build: kind,
    entry,
    starts: runs,
    firstMs: med('firstMs'),
    warmMs: med('warmMs'),
    listenMs: med('listenMs'),
  };
}

interface Cell {
  rec: Latencies;
  p99s: number[];
  achieved: number[];
  errors: number;
  rate?: number;
  report: { rps: number[]; p50: number[] };
  pools: PoolDelta[];
  loops: LoopDelay[];
}
export type TrafficAppResult = Awaited<ReturnType<typeof runTrafficApp>>;

export async function runTrafficApp(o: { size: Size; log: (m: string) => void }) {
  const p = TRAFFIC[o.size].app;
  const dir = mkdtempSync(join(tmpdir(), 'smartasync-bench-traffic-'));
  const url = `sqlite:${join(dir, 'users.db')}`;
  const reportCost = DEFAULT_REPORT_COST;
  const servers: Server[] = [];
  const errors: { build: string; error: string }[] = [];
  const pools = new Map<Server, Pool>();
  const cells = new Map<string, Cell>();
  const cell = (b: string, sc: string): Cell => {
    const key = `${b}|${sc}`;
    const fresh = {
      rec: new Latencies(),
      p99s: [],
      achieved: [],
      errors: 0,
      report: { rps: [], p50: [] },
      pools: [],
      loops: [],
    };
    return cells.get(key) ?? cells.set(key, fresh).get(key)!;
  };
  try {
    http.seed(url);
    const started = await Promise.allSettled(BUILDS.map((b) => http.startServer(b.build, url, reportCost)));
    started.forEach((s, i) =>
      s.status === 'fulfilled'
        ? servers.push(s.value)
        : errors.push({ build: BUILDS[i]!.build, error: String(s.reason) }),
    );
    o.log(`servers up: ${servers.map((s) => s.build).join(', ')}`);
    const warmup = Math.min(1, p.seconds / 3);
    for (const s of servers) {
      // Warm-up: JIT, the workers and their connections, on both endpoints and both clients; every
      // rate once, as the first run at a new rate pays for opening connections and the heaps adjusting.
      pools.set(s, new Pool(s.base, { connections: OPEN_CONNECTIONS }));
      await closedLoop(s.base, LIGHT_CONNECTIONS, http.randomUser, sleep(warmup * 1000), []);
      await fetch(`${s.base}/reports/users`).then((r) => r.arrayBuffer());
      for (const rt of p.rates) await openLoopHttp(pools.get(s)!, rt, warmup, 7, [new Latencies()]);
    }
    for (let round = 0; round < p.rounds; round++) {
      const k = round % Math.max(1, servers.length);
      for (const s of [...servers.slice(k), ...servers.slice(0, k)]) {
        type Run = { achieved: number; errors: number; report?: { rps: number; p50: number } };
        const measure = async (scenario: string, run: (recs: Latencies[]) => Promise<Run>) => {
          const c = cell(s.build, scenario);
          const rec = new Latencies();
          const before = await http.poolCounters(s);
          await http.loopDelay(s); // resets the server's histogram
          const r = await run([rec, c.rec]);
          const loop = await http.loopDelay(s);
          const pd = http.poolDelta(before, await http.poolCounters(s));
          const d = rec.dist();
          c.p99s.push(d.p99);
          c.achieved.push(r.achieved);
          c.errors += r.errors;
          c.report.rps.push(...(r.report ? [r.report.rps] : []));
          c.report.p50.push(...(r.report ? [r.report.p50] : []));
          if (pd) c.pools.push(pd);
          if (loop) c.loops.push(loop);
          rec.destroy();
          o.log(
            `${s.build} ${scenario}: p50 ${d.p50.toFixed(2)} ms, p99 ${d.p99.toFixed(2)} ms at ${r.achieved.toFixed(0)} req/s` +
              (r.report ? `; report ${r.report.rps.toFixed(1)} req/s` : ''),
          );
        };
        await measure('alone', (recs) =>
          closedLoop(s.base, LIGHT_CONNECTIONS, http.randomUser, sleep(p.seconds * 1000), recs),
        );
        await measure('with-report', async (recs) => {
          // The report load starts first and outlasts the light load.
          const light = Promise.withResolvers<void>();
          const report = closedLoop(s.base, REPORT_CONNECTIONS, () => '/reports/users', light.promise, []);
          await sleep(Math.min(300, p.seconds * 200));
          const f = await closedLoop(s.base, LIGHT_CONNECTIONS, http.randomUser, sleep(p.seconds * 1000), recs);
          light.resolve();
          const r = await report;
          return { ...f, errors: f.errors + r.errors, report: { rps: r.achieved, p50: r.p50 } };
        });
        for (const [i, rate] of p.rates.entries()) {
          cell(s.build, `open-${rate}`).rate = rate;
          await measure(`open-${rate}`, (recs) =>
            openLoopHttp(pools.get(s)!, rate, p.openSeconds, 100 * round + i, recs),
          );
        }
      }
    }
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  } finally {
    await Promise.all([...pools.values()].map((pl) => pl.close()));
    await Promise.all(servers.map(http.stopServer));
  }
  const scenarios = [...cells].map(([key, c]) => {
    const [build, scenario] = key.split('|') as [AppBuild, string];
    const med = (xs: number[]) => spread(xs).median;
    const [pool, loop] = [http.medians(c.pools), http.medians(c.loops)];
    const report = c.report.rps.length ? { requestsPerSec: med(c.report.rps), p50Ms: med(c.report.p50) } : undefined;
    const latency = c.rec.dist();
    c.rec.destroy();
    return {
      ...{
        build,
        scenario,
        ...(c.rate !== undefined && { rate: c.rate }),
        achieved: med(c.achieved),
        latency,
        errors: c.errors,
      },
      ...{ p99Rounds: spread(c.p99s), ...(report && { report }), ...(pool && { pool }), ...(loop && { loop }) },
    };
  });

  // First request after a fresh start, one build at a time on a quiet machine.
  const firstRequests: FirstRequest[] = [];
  try {
    for (const kind of ['smartasync (npm start)', 'smartasync', 'manual-piscina', 'naive'] as const) {
      try {
        const fr = await firstRequest(kind, url, reportCost, p.starts, o.size === 'smoke' ? 10 : 200);
        firstRequests.push(fr);
        o.log(
          `${kind}: listening after ${fr.listenMs.toFixed(0)} ms; first request ${fr.firstMs.toFixed(2)} ms, warm ${fr.warmMs.toFixed(2)} ms`,
        );
      } catch (err) {
        firstRequests.push({
          build: kind,
          entry: '',
          starts: [],
          firstMs: NaN,
          warmMs: NaN,
          listenMs: NaN,
          error: String(err),
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    ...{ rounds: p.rounds, seconds: p.seconds, openSeconds: p.openSeconds, rates: p.rates },
    ...{ lightConnections: LIGHT_CONNECTIONS, reportConnections: REPORT_CONNECTIONS, builds: BUILDS },
    ...{ scenarios, firstRequest: firstRequests, errors },
  };
}
