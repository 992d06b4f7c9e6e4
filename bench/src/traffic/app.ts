// The users API under server traffic: GET /users/:id from one client looping alone, the same
// while three clients loop the heavy report, and open-loop Poisson arrivals at fixed rates
// (latency from the intended send time). Then the first request after a fresh start against a
// warm request. The builds are those of the application section (src/app/server.ts), each in
// its own process; the smartasync build's first request is also taken through the app's own
// entry (`npm start`), which is what a user starts.
import { get } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Pool } from 'undici';
import { DEFAULT_REPORT_COST } from 'users-api/manager';
import {
  launch,
  loopDelay,
  poolCounters,
  poolDelta,
  seed,
  startServer,
  stopServer,
  USERS,
  type Server,
} from '../app/run-app.ts';
import type { Size } from '../plan.ts';
import { spread } from '../stats.ts';
import { workerThreads } from '../threads.ts';
import { PlainRecorder } from './hist.ts';
import { TRAFFIC } from './params.ts';
import { pace, rng } from './scenarios.ts';
import type { AppBuild, AppScenarioFigures, FirstRequest, TrafficAppResult } from './types.ts';

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
const LIGHT_CONNECTIONS = 1;
const REPORT_CONNECTIONS = 3;
// Enough that a request never waits for a free connection below saturation.
const OPEN_CONNECTIONS = 32;
const mainEntry = fileURLToPath(import.meta.resolve('users-api/main'));
const tracingPreload = fileURLToPath(new URL('tracing.ts', import.meta.resolve('users-api/main')));

const userPath = (r: () => number) => `/users/${1 + Math.floor(r() * USERS)}`;
const light = () => userPath(Math.random);

/** Poisson arrivals at `rate` req/s on GET /users/:id; latency from each request's intended send time. */
async function openLoopHttp(
  pool: Pool,
  rate: number,
  seconds: number,
  seed: number,
  recs: PlainRecorder[],
): Promise<{ achieved: number; errors: number }> {
  const arrivals = rng(seed);
  const ids = rng(seed + 1);
  let errors = 0;
  let pending = 0;
  let drained: (() => void) | undefined;
  const t0 = performance.now();
  await pace(
    () => (-Math.log(1 - arrivals()) * 1000) / rate,
    seconds * 1000,
    (_i, intended) => {
      pending++;
      pool
        .request({ path: userPath(ids), method: 'GET' })
        .then(async (res) => {
          await res.body.dump();
          if (res.statusCode !== 200) errors++;
          const ms = performance.now() - intended;
          for (const r of recs) r.record(ms);
        })
        .catch(() => errors++)
        .finally(() => {
          if (--pending === 0) drained?.();
        });
    },
  );
  if (pending) await new Promise<void>((resolve) => (drained = resolve));
  return { achieved: (recs[0]?.count ?? 0) / ((performance.now() - t0) / 1000), errors };
}

/**
 * Closed loop: `clients` connections, each sending its next request as soon as the previous
 * response has been read, until `stop` resolves (or `seconds` pass). Latency per request.
 */
async function closedLoopHttp(
  base: string,
  clients: number,
  path: () => string,
  until: Promise<unknown>,
  recs: PlainRecorder[],
): Promise<{ achieved: number; errors: number; p50: number }> {
  let running = true;
  void until.then(() => (running = false));
  let errors = 0;
  let done = 0;
  const lat = new PlainRecorder();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const client = new Client(base);
      try {
        while (running) {
          const s = performance.now();
          try {
            const res = await client.request({ path: path(), method: 'GET' });
            await res.body.dump();
            if (res.statusCode !== 200) errors++;
          } catch {
            errors++;
          }
          const ms = performance.now() - s;
          done++;
          lat.record(ms);
          for (const r of recs) r.record(ms);
        }
      } finally {
        await client.close();
      }
    }),
  );
  const p50 = lat.result().p50;
  lat.destroy();
  return { achieved: done / ((performance.now() - t0) / 1000), errors, p50 };
}

/** One GET on a new connection, timed to the end of the body. */
function timedGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    get(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () =>
        res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
      );
    }).on('error', reject);
  });
}

function startMain(url: string, reportCost: number): Promise<Server> {
  const env = {
    ...process.env,
    HOST: '127.0.0.1',
    PORT: '0',
    // DATA_MODE unset: the app's default, as shipped.
    DATABASE_URL: url,
    REPORT_COST: String(reportCost),
    LOG_LEVEL: 'info',
  };
  // As `npm start` runs it: with the tracing preload (a no-op unless OTEL_* asks).
  return launch('smartasync', ['--import', tracingPreload, mainEntry], env, /listening at http:\/\/[^:]+:(\d+)/);
}

async function firstRequest(
  kind: FirstRequest['build'],
  url: string,
  reportCost: number,
  starts: number,
  warmCalls: number,
): Promise<FirstRequest> {
  const entry =
    kind === 'smartasync (npm start)'
      ? 'examples/users-api/src/main.ts (npm start, the default DATA_MODE)'
      : `bench/src/app/server.ts ${kind}`;
  const out: FirstRequest = {
    build: kind,
    entry,
    starts: [],
    firstMs: Number.NaN,
    warmMs: Number.NaN,
    listenMs: Number.NaN,
  };
  for (let k = 0; k < starts; k++) {
    const t0 = performance.now();
    const s =
      kind === 'smartasync (npm start)' ? await startMain(url, reportCost) : await startServer(kind, url, reportCost);
    try {
      const listenMs = performance.now() - t0;
      const workersAtFirst = workerThreads(s.proc.pid!);
      const firstMs = await timedGet(`${s.base}/users/1`);
      const workersAfterFirst = workerThreads(s.proc.pid!);
      for (let i = 0; i < warmCalls; i++) await timedGet(`${s.base}/users/${1 + (i % USERS)}`);
      const warm: number[] = [];
      for (let i = 0; i < 31; i++) warm.push(await timedGet(`${s.base}/users/${2 + i}`));
      warm.sort((a, b) => a - b);
      out.starts.push({
        listenMs,
        firstMs,
        warmMs: warm[15]!,
        ...(workersAtFirst !== undefined ? { workersAtFirst } : {}),
        ...(workersAfterFirst !== undefined ? { workersAfterFirst } : {}),
      });
    } finally {
      await stopServer(s);
    }
  }
  const med = (k: 'listenMs' | 'firstMs' | 'warmMs') => spread(out.starts.map((x) => x[k])).median;
  return { ...out, firstMs: med('firstMs'), warmMs: med('warmMs'), listenMs: med('listenMs') };
}

interface Cell {
  rec: PlainRecorder;
  p99s: number[];
  achieved: number[];
  errors: number;
  rate?: number;
  report: { rps: number[]; p50: number[] };
  pools: NonNullable<ReturnType<typeof poolDelta>>[];
  loops: NonNullable<Awaited<ReturnType<typeof loopDelay>>>[];
}

export async function runTrafficApp(o: { size: Size; log: (m: string) => void }): Promise<TrafficAppResult> {
  const p = TRAFFIC[o.size].app;
  const dir = mkdtempSync(join(tmpdir(), 'smartasync-bench-traffic-'));
  const url = `sqlite:${join(dir, 'users.db')}`;
  const reportCost = DEFAULT_REPORT_COST;
  const result: TrafficAppResult = {
    rounds: p.rounds,
    seconds: p.seconds,
    openSeconds: p.openSeconds,
    rates: p.rates,
    lightConnections: LIGHT_CONNECTIONS,
    reportConnections: REPORT_CONNECTIONS,
    builds: BUILDS,
    scenarios: [],
    firstRequest: [],
    errors: [],
  };
  const servers: Server[] = [];
  const pools = new Map<Server, Pool>();
  const cells = new Map<string, Cell>();
  const cell = (b: string, sc: string): Cell => {
    const key = `${b}|${sc}`;
    if (!cells.has(key))
      cells.set(key, {
        rec: new PlainRecorder(),
        p99s: [],
        achieved: [],
        errors: 0,
        report: { rps: [], p50: [] },
        pools: [],
        loops: [],
      });
    return cells.get(key)!;
  };
  let measured = false;
  try {
    await seed(url);
    const started = await Promise.allSettled(BUILDS.map((b) => startServer(b.build, url, reportCost)));
    started.forEach((s, i) => {
      if (s.status === 'fulfilled') servers.push(s.value);
      else result.errors.push({ build: BUILDS[i]!.build, error: String(s.reason) });
    });
    o.log(`servers up: ${servers.map((s) => s.build).join(', ')}`);
    const warmup = Math.min(1, p.seconds / 3);
    for (const s of servers) {
      // Warm-up: JIT, the workers and their connections, on both endpoints and both clients.
      const pool = new Pool(s.base, { connections: OPEN_CONNECTIONS });
      pools.set(s, pool);
      await closedLoopHttp(s.base, LIGHT_CONNECTIONS, light, sleep(warmup * 1000), []);
      await fetch(`${s.base}/reports/users`).then((r) => r.arrayBuffer());
      // Every rate once: the first run at a new, higher rate pays for opening connections and
      // for both processes' heaps and JIT adjusting to it (tens of ms of p99 on this machine),
      // which would land on whichever build comes first in round 0.
      for (const rt of p.rates) await openLoopHttp(pool, rt, warmup, 7, [new PlainRecorder()]);
    }

    for (let round = 0; round < p.rounds; round++) {
      const k = round % Math.max(1, servers.length);
      for (const s of [...servers.slice(k), ...servers.slice(0, k)]) {
        const measure = async (
          scenario: string,
          run: (
            rec: PlainRecorder,
          ) => Promise<{ achieved: number; errors: number; report?: { rps: number; p50: number } }>,
        ) => {
          const c = cell(s.build, scenario);
          const rec = new PlainRecorder();
          const before = await poolCounters(s);
          await loopDelay(s); // resets the server's histogram
          const r = await run(rec);
          const loop = await loopDelay(s);
          const pd = poolDelta(before, await poolCounters(s));
          const d = rec.result();
          c.p99s.push(d.p99);
          c.achieved.push(r.achieved);
          c.errors += r.errors;
          if (r.report) {
            c.report.rps.push(r.report.rps);
            c.report.p50.push(r.report.p50);
          }
          if (pd) c.pools.push(pd);
          if (loop) c.loops.push(loop);
          rec.destroy();
          o.log(
            `${s.build} ${scenario}: p50 ${d.p50.toFixed(2)} ms, p99 ${d.p99.toFixed(2)} ms at ${r.achieved.toFixed(0)} req/s` +
              (r.report ? `; report ${r.report.rps.toFixed(1)} req/s` : ''),
          );
        };
        await measure('alone', async (rec) => {
          const f = await closedLoopHttp(s.base, LIGHT_CONNECTIONS, light, sleep(p.seconds * 1000), [
            rec,
            cell(s.build, 'alone').rec,
          ]);
          return { achieved: f.achieved, errors: f.errors };
        });
        await measure('with-report', async (rec) => {
          // The report load starts first and outlasts the light load.
          let stopReport!: () => void;
          const report = closedLoopHttp(
            s.base,
            REPORT_CONNECTIONS,
            () => '/reports/users',
            new Promise<void>((r) => (stopReport = r)),
            [],
          );
          await sleep(Math.min(300, p.seconds * 200));
          const f = await closedLoopHttp(s.base, LIGHT_CONNECTIONS, light, sleep(p.seconds * 1000), [
            rec,
            cell(s.build, 'with-report').rec,
          ]);
          stopReport();
          const r = await report;
          return { achieved: f.achieved, errors: f.errors + r.errors, report: { rps: r.achieved, p50: r.p50 } };
        });
        for (const [i, rate] of p.rates.entries()) {
          const sc = `open-${rate}`;
          cell(s.build, sc).rate = rate;
          await measure(sc, (rec) =>
            openLoopHttp(pools.get(s)!, rate, p.openSeconds, 100 * round + i, [rec, cell(s.build, sc).rec]),
          );
        }
      }
    }
    measured = true;
  } finally {
    await Promise.all([...pools.values()].map((pl) => pl.close()));
    await Promise.all(servers.map(stopServer));
    if (!measured) rmSync(dir, { recursive: true, force: true });
  }

  for (const [key, c] of cells) {
    const [build, scenario] = key.split('|') as [AppBuild, string];
    const med = (xs: number[]) => spread(xs).median;
    result.scenarios.push({
      build,
      scenario,
      ...(c.rate !== undefined ? { rate: c.rate } : {}),
      achieved: med(c.achieved),
      latency: c.rec.result(),
      errors: c.errors,
      p99Rounds: spread(c.p99s),
      ...(c.report.rps.length ? { report: { requestsPerSec: med(c.report.rps), p50Ms: med(c.report.p50) } } : {}),
      ...(c.pools.length
        ? {
            pool: {
              calls: med(c.pools.map((x) => x.calls)),
              meanWaitMs: med(c.pools.map((x) => x.meanWaitMs)),
              meanRunMs: med(c.pools.map((x) => x.meanRunMs)),
              maxWaitMs: med(c.pools.map((x) => x.maxWaitMs)),
            },
          }
        : {}),
      ...(c.loops.length
        ? {
            loop: {
              p50Ms: med(c.loops.map((x) => x.p50Ms)),
              p99Ms: med(c.loops.map((x) => x.p99Ms)),
              maxMs: med(c.loops.map((x) => x.maxMs)),
            },
          }
        : {}),
    } satisfies AppScenarioFigures);
    c.rec.destroy();
  }

  // First request after a fresh start, one build at a time on a quiet machine.
  const warmCalls = o.size === 'smoke' ? 10 : 200;
  try {
    for (const kind of ['smartasync (npm start)', 'smartasync', 'manual-piscina', 'naive'] as FirstRequest['build'][]) {
      try {
        const fr = await firstRequest(kind, url, reportCost, p.starts, warmCalls);
        result.firstRequest.push(fr);
        o.log(
          `${kind}: listening after ${fr.listenMs.toFixed(0)} ms; first request ${fr.firstMs.toFixed(2)} ms, warm ${fr.warmMs.toFixed(2)} ms`,
        );
      } catch (err) {
        result.firstRequest.push({
          build: kind,
          entry: '',
          starts: [],
          firstMs: Number.NaN,
          warmMs: Number.NaN,
          listenMs: Number.NaN,
          error: String(err),
        });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}
