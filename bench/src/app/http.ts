// The users API as the benchmarks drive it: a seeded SQLite file, one server process per build
// (./server.ts), closed-loop load from autocannon, and what the server says about itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon, { type Result } from 'autocannon';
import { DatabaseManager } from 'users-api/manager';
import { quantile, sortedCopy } from '../lib/stats.ts';

export type Build = 'naive' | 'manual-piscina' | 'smartasync' | 'smartasync-auto';
export const USERS = 1000;
export const randomUser = () => `/users/${1 + Math.floor(Math.random() * USERS)}`;

export function seed(url: string): void {
  const db = new DatabaseManager(url);
  try {
    for (let i = 1; i <= USERS; i++) db.createUser({ name: `User ${i}`, email: `user${i}@example${i % 17}.com` });
    for (let i = 1; i <= 20; i++) db.createAccount({ owner: `Owner ${i}`, balance: 100_000 });
    for (let i = 1; i <= 200; i++) db.transfer({ from: 1 + (i % 20), to: 1 + ((i + 7) % 20), amount: 10 });
  } finally {
    db.close();
  }
}

export interface Server<B extends string = Build> {
  build: B;
  proc: ChildProcess;
  base: string;
}

export function startServer(build: Build, url: string, reportCost: number): Promise<Server> {
  const entry = fileURLToPath(new URL('./server.ts', import.meta.url));
  return launch(build, [entry, build, url, String(reportCost)], undefined, /PORT (\d+)/);
}

/** Spawns a server process and resolves once its stdout matches `port` (the port in group 1). */
export function launch<B extends string>(
  build: B,
  args: string[],
  env: NodeJS.ProcessEnv | undefined,
  port: RegExp,
): Promise<Server<B>> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], ...(env ? { env } : {}) });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${build} server did not start in 30 s`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      // Read on after listening (a server that logs would block on a full pipe), keep nothing.
      if (out === undefined) return;
      const m = port.exec((out += d.toString()));
      if (!m) return;
      out = undefined as unknown as string;
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

export type LoadFigures = Awaited<ReturnType<typeof load>['done']>;

/**
 * `connections` autocannon connections on `path` (a function: a new path per request) for
 * `seconds`, or until stop(). Latencies come from autocannon's per-response times (float ms), not
 * its whole-millisecond histogram; each also goes to `onLatency`.
 */
export function load(
  base: string,
  path: string | (() => string),
  connections: number,
  seconds: number,
  o: { sampleInt?: number; onLatency?: (ms: number) => void } = {},
) {
  const latencies: number[] = [];
  let instance: ReturnType<typeof autocannon> | undefined;
  const url = base + (typeof path === 'string' ? path : '/');
  const requests =
    typeof path === 'string' ? {} : { requests: [{ setupRequest: (req: object) => ({ ...req, path: path() }) }] };
  const done = new Promise<Result>((resolve, reject) => {
    const opts = {
      url,
      connections,
      duration: seconds,
      timeout: 30,
      ...(o.sampleInt ? { sampleInt: o.sampleInt } : {}),
    };
    instance = autocannon({ ...opts, ...requests }, (err, r) => (err ? reject(err) : resolve(r)));
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
      latencies.push(ms);
      o.onLatency?.(ms);
    });
  }).then((r) => {
    const s = sortedCopy(latencies);
    const share = (ms: number) => (s.length ? latencies.filter((x) => x > ms).length / s.length : 0);
    return {
      ...{ requestsPerSec: r.requests.total / r.duration, p50Ms: quantile(s, 0.5), p90Ms: quantile(s, 0.9) },
      ...{ p99Ms: quantile(s, 0.99), maxMs: s.length ? s[s.length - 1]! : Number.NaN, requests: r.requests.total },
      ...{ errors: r.errors + r.timeouts, non2xx: r.non2xx, over2msShare: share(2), over10msShare: share(10) },
    };
  });
  return { done, stop: () => instance?.stop() };
}

// The smartasync build exposes its pool's statistics on /metrics: the difference over a measurement
// says how long calls waited for a worker, where a light request stuck behind a report loses its time.
export type PoolCounters = { calls: number; waitS: number; runS: number; maxWaitS: number };
export async function poolCounters(s: Server): Promise<PoolCounters | undefined> {
  if (s.build !== 'smartasync') return undefined;
  const text = await (await fetch(`${s.base}/metrics`)).text();
  const read = (name: string) =>
    Number(new RegExp(`^smartasync_pool_${name} ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? NaN);
  const [calls, waitS, runS, maxWaitS] = [
    'completed_calls_total',
    'wait_seconds_total',
    'run_seconds_total',
    'wait_seconds_max',
  ].map(read);
  return { calls: calls!, waitS: waitS!, runS: runS!, maxWaitS: maxWaitS! };
}

export type PoolDelta = NonNullable<ReturnType<typeof poolDelta>>;
export function poolDelta(a: PoolCounters | undefined, b: PoolCounters | undefined) {
  if (!a || !b || !(b.calls > a.calls)) return undefined;
  const n = b.calls - a.calls;
  const ms = (x: number) => (x * 1000) / n;
  return { calls: n, meanWaitMs: ms(b.waitS - a.waitS), meanRunMs: ms(b.runS - a.runS), maxWaitMs: b.maxWaitS * 1000 };
}

/** The server's event-loop delay since the last read (a bench-only route of ./server.ts); reading resets it. */
export type LoopDelay = { p50Ms: number; p99Ms: number; maxMs: number };
export async function loopDelay(s: Server): Promise<LoopDelay | undefined> {
  try {
    return (await (await fetch(`${s.base}/__bench/event-loop`)).json()) as LoopDelay;
  } catch {
    return undefined;
  }
}

/** The median of each numeric field over `xs` (undefined when there is none). */
export function medians<T extends Record<string, number>>(xs: T[]): T | undefined {
  if (!xs.length) return undefined;
  return Object.fromEntries(Object.keys(xs[0]!).map((k) => [k, quantile(sortedCopy(xs.map((x) => x[k]!)), 0.5)])) as T;
}
