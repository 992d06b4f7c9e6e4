// The users API as the benchmarks drive it: a seeded SQLite file, one server process per build
// (./server.ts), closed-loop load from autocannon, open-loop load from undici, and what the server
// says about itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import type { Pool } from 'undici';
import { DatabaseManager } from 'users-api/manager';
import { migrate } from 'users-api/migrate';
import { pace, poisson, rng } from '../lib/arrivals.ts';
import { median, quantile, sortedCopy } from '../lib/stats.ts';

export type Build = 'naive' | 'manual-piscina' | 'smartasync' | 'smartasync-auto' | 'export-all' | 'export-piscina';
export const USERS = 1000;
/** `{ build, note }` per key of `notes`, in order: the builds a section runs, as results.json lists them. */
export const withNotes = <B extends string>(notes: Record<B, string>) =>
  (Object.keys(notes) as B[]).map((build) => ({ build, note: notes[build] }));
export const randomUser = () => `/users/${1 + Math.floor(Math.random() * USERS)}`;

async function seed(url: string): Promise<void> {
  await migrate(url); // the app's schema
  const db = new DatabaseManager(url);
  try {
    for (let i = 1; i <= USERS; i++) db.createUser({ name: `User ${i}`, email: `user${i}@example${i % 17}.com` });
    for (let i = 1; i <= 20; i++) db.createAccount({ owner: `Owner ${i}`, balance: 100_000 });
    for (let i = 1; i <= 200; i++) db.transfer({ from: 1 + (i % 20), to: 1 + ((i + 7) % 20), amount: 10 });
  } finally {
    db.close();
  }
}

export type Server<B extends string = Build> = { build: B; proc: ChildProcess; base: string };

export function startServer(build: Build, url: string, reportCost: number, env?: NodeJS.ProcessEnv): Promise<Server> {
  const args = [join(import.meta.dirname, 'server.ts'), build, url, String(reportCost)];
  return launch(build, args, env && { ...process.env, ...env }, /PORT (\d+)/);
}

/** Spawns a server process and resolves once its stdout matches `port` (the port in group 1). */
export function launch<B extends string>(build: B, args: string[], env: NodeJS.ProcessEnv | undefined, port: RegExp) {
  return new Promise<Server<B>>((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], ...(env ? { env } : {}) });
    let out: string | undefined = '';
    const timer = setTimeout(() => reject(new Error(`${build} server did not start in 30 s`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      // Read on after listening (a server that logs would block on a full pipe), keep nothing.
      const m = out === undefined ? null : port.exec((out += d.toString()));
      if (!m) return;
      out = undefined;
      clearTimeout(timer);
      resolve({ build, proc, base: `http://127.0.0.1:${m[1]}` });
    });
    proc.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${build} server exited with ${code} before listening`));
    });
  });
}

export async function stopServer(s: Server<string>): Promise<void> {
  if (s.proc.exitCode !== null) return;
  const exited = new Promise((res) => s.proc.once('exit', res));
  s.proc.kill('SIGTERM');
  await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
  if (s.proc.exitCode === null) s.proc.kill('SIGKILL');
}

/**
 * A seeded database in a directory of its own and a server per build, up while `f` runs (builds that
 * fail to start are in `errors`); the database outlives the servers for `after`.
 */
export async function withServers<T, U = undefined>(
  builds: Build[],
  reportCost: number,
  f: (servers: Server[], errors: { build: Build; error: string }[]) => Promise<T>,
  after?: (url: string) => Promise<U>,
): Promise<[T, U]> {
  const dir = mkdtempSync(join(tmpdir(), 'smartasync-bench-app-'));
  const url = `sqlite:${join(dir, 'users.db')}`;
  try {
    await seed(url);
    const started = await Promise.allSettled(builds.map((b) => startServer(b, url, reportCost)));
    const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const errors = started.flatMap((s, i) =>
      s.status === 'rejected' ? [{ build: builds[i]!, error: String(s.reason) }] : [],
    );
    let out: T;
    try {
      out = await f(servers, errors);
    } finally {
      await Promise.all(servers.map(stopServer));
    }
    return [out, (await after?.(url)) as U]; // U is undefined where there is no `after`
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Round r starts at server r mod n, as every comparison interleaves its candidates. */
export function rotated<T>(xs: T[], round: number): T[] {
  const k = round % Math.max(1, xs.length);
  return [...xs.slice(k), ...xs.slice(0, k)];
}

/** Warm-up of each server: JIT, lazily started workers and their connections, on both endpoints. */
export async function warmUp(servers: Server[], connections: number, seconds: number): Promise<void> {
  for (const s of servers) {
    await load(s.base, randomUser, connections, seconds).done;
    await fetch(`${s.base}/reports/users`).then((r) => r.arrayBuffer());
  }
}

/**
 * Closed loop: `connections` autocannon connections on `path` (a function: a new path per request),
 * each sending its next request once the previous response is read, for `seconds` or until stop().
 * Latencies come from autocannon's per-response times (float ms), not its whole-millisecond
 * histogram; each also goes to `onLatency`.
 */
export function load(
  base: string,
  path: string | (() => string),
  connections: number,
  seconds: number,
  onLatency?: (ms: number) => void,
) {
  const latencies: number[] = [];
  const perRequest = typeof path === 'function' && {
    requests: [{ setupRequest: (req: object) => ({ ...req, path: path() }) }],
  };
  const url = base + (typeof path === 'string' ? path : '/');
  const { promise, resolve, reject } = Promise.withResolvers<Result>();
  const opts = { url, connections, duration: seconds, timeout: 30, ...perRequest };
  const instance = autocannon(opts, (err, r) => (err ? reject(err) : resolve(r)));
  instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    latencies.push(ms);
    onLatency?.(ms);
  });
  const done = promise.then((r) => {
    const s = sortedCopy(latencies);
    const share = (ms: number) => (s.length ? latencies.filter((x) => x > ms).length / s.length : 0);
    const [p50Ms, p90Ms, p99Ms] = [quantile(s, 0.5), quantile(s, 0.9), quantile(s, 0.99)];
    const [requests, maxMs] = [r.requests.total, s.at(-1) ?? Number.NaN];
    const [errors, over2msShare, over10msShare] = [r.errors + r.timeouts, share(2), share(10)];
    const figures = { requestsPerSec: requests / r.duration, p50Ms, p90Ms, p99Ms, maxMs, requests };
    return { ...figures, errors, non2xx: r.non2xx, over2msShare, over10msShare };
  });
  return { done, stop: () => instance.stop() };
}

/**
 * `light()` while `connections` more connections loop the heavy report, which starts `leadMs` first
 * and outlasts the light load. It is stopped then, but autocannon ends it (and resolves `report`) at
 * its next sample tick, up to a second later.
 */
export async function withReport<T>(s: Server, connections: number, leadMs: number, light: () => Promise<T>) {
  const report = load(s.base, '/reports/users', connections, 3600);
  await sleep(leadMs);
  try {
    return { light: await light(), report: report.done };
  } finally {
    report.stop();
  }
}

/** Open loop: Poisson arrivals at `rate` req/s on GET /users/:id; latency from each request's intended send time. */
export async function openLoop(
  pool: Pool,
  rate: number,
  seconds: number,
  seed: number,
  onLatency: (ms: number) => void,
) {
  const ids = rng(seed + 1);
  let [errors, done] = [0, 0];
  const t0 = performance.now();
  await pace(poisson(rate, rng(seed)), seconds * 1000, async (_i, intended) => {
    try {
      const res = await pool.request({ path: `/users/${1 + Math.floor(ids() * USERS)}`, method: 'GET' });
      await res.body.dump();
      if (res.statusCode !== 200) errors++;
      done++;
      onLatency(performance.now() - intended);
    } catch {
      errors++;
    }
  });
  return { achieved: done / ((performance.now() - t0) / 1000), errors };
}

// The smartasync build exposes its pool's statistics on /metrics: the difference over a measurement
// says how long calls waited for a worker, where a light request stuck behind a report loses its time.
async function poolCounters(s: Server) {
  if (s.build !== 'smartasync') return undefined;
  const text = await (await fetch(`${s.base}/metrics`)).text();
  const read = (name: string) =>
    Number(new RegExp(`^smartasync_pool_${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const [calls, waitS, runS] = [read('completed_calls_total'), read('wait_seconds_total'), read('run_seconds_total')];
  return { calls, waitS, runS, maxWaitS: read('wait_seconds_max') };
}

/** The server's event-loop delay since the last read (a bench-only route of ./server.ts); reading resets it. */
const loopDelay = (s: Server) =>
  fetch(`${s.base}/__bench/event-loop`)
    .then((r) => r.json() as Promise<{ p50Ms: number; p99Ms: number; maxMs: number }>)
    .catch(() => undefined);

/** `run`, with how long the server's pool made calls wait meanwhile and how late its event loop ran. */
export async function observed<T>(s: Server, run: () => Promise<T>) {
  const before = await poolCounters(s);
  await loopDelay(s);
  const out = await run();
  const loop = await loopDelay(s);
  const after = await poolCounters(s);
  const n = before && after ? after.calls - before.calls : 0;
  const ms = (k: 'waitS' | 'runS') => ((after![k] - before![k]) * 1000) / n;
  const pool =
    n > 0 ? { calls: n, meanWaitMs: ms('waitS'), meanRunMs: ms('runS'), maxWaitMs: after!.maxWaitS * 1000 } : undefined;
  return { out, pool, loop }; // undefined ones are left out of results.json
}

/** The median of each numeric field over `xs` (undefined when there is none). */
export function medians<T extends Record<string, number>>(xs: T[]): T | undefined {
  const column = (k: string) => xs.map((x) => x[k]!);
  return xs.length ? (Object.fromEntries(Object.keys(xs[0]!).map((k) => [k, median(column(k))])) as T) : undefined;
}
