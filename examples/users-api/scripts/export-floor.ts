// Issue 15, defect 8: how much of the light request's tail during exports is the server's own
// doing? Three kinds of window alternate, a /health request every 5 ms to this process's app
// in each: no exports; 8 exports served by this same app; the same 8 exports served by a second
// copy of the app in a process of its own (so this process's event loop does none of their
// work: what the light request suffers then is the machine's, the floor any design meets).
// Usage (from examples/users-api): node scripts/export-floor.ts [--rounds=3] [--drivers=pg,mysql]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setPriority } from 'node:os';
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import { buildApp } from '../src/app.ts';
import { testDatabases, type DriverName } from '../test/support/databases.ts';
import { setUpPool, TEST_MODE } from '../test/support/pool.ts';
import { seedUsers } from '../test/support/raw.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    drivers: { type: 'string', default: 'better-sqlite3,pg,mysql' },
  },
});
const ROUNDS = Number(values.rounds);
const ROWS = 20_000;
const EXPORTS = 8;
const PACE_MS = 5;
const ALONE_MS = 1_000;
const here = import.meta.dirname;

/** This thread's time waiting for a CPU so far (ms), from the scheduler's statistics (Linux). */
const runQueueMs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;

async function freePort(): Promise<number> {
  const s = net.createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as net.AddressInfo).port;
  s.close();
  return port;
}

async function runExports(base: string): Promise<void> {
  const child = spawn(process.execPath, [join(here, '../test/support/export-readers.ts'), base, `${EXPORTS}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  setPriority(child.pid!, 19);
  child.stdout.resume();
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error('export readers failed');
}

async function pace(base: string, agent: http.Agent, until: Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  const pending: Promise<void>[] = [];
  let done = false;
  void until.finally(() => (done = true));
  while (!done) {
    const started = performance.now();
    pending.push(
      new Promise<void>((resolve, reject) => {
        http
          .get(`${base}/health`, { agent }, (r) => {
            r.resume();
            r.on('end', () => resolve(void times.push(performance.now() - started)));
          })
          .on('error', reject);
      }),
    );
    await new Promise((r) => setTimeout(r, PACE_MS));
  }
  await Promise.all(pending);
  return times;
}

const q = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const show = (xs: number[]) =>
  `p50 ${q(xs, 0.5).toFixed(1)} p99 ${q(xs, 0.99).toFixed(1)} max ${Math.max(...xs).toFixed(1)} ms (${xs.length})`;

/** This thread's garbage-collection pauses (ms), as they happen. */
const pauses: number[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push(e.duration);
}).observe({ entryTypes: ['gc'] });

setUpPool();
const databases = await testDatabases();
try {
  for (const driver of values.drivers.split(',') as DriverName[]) {
    const url = databases.freshUrl(driver);
    const app = await buildApp({ databaseUrl: url, mode: TEST_MODE });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    await seedUsers(driver, url, ROWS, 'n'.repeat(180), 'load.test');
    const port = await freePort();
    const other: ChildProcess = spawn(process.execPath, [join(here, '../src/main.ts')], {
      env: {
        ...process.env,
        DATABASE_URL: url,
        PORT: `${port}`,
        LOG_LEVEL: 'warn',
        DATA_MODE: TEST_MODE,
        DB_POOL_SIZE: '4',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const otherBase = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      try {
        await fetch(`${otherBase}/health`);
        break;
      } catch {
        if (i > 200) throw new Error('other app did not start');
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    await runExports(base);
    await runExports(otherBase);
    const windows = { alone: [] as number[], same: [] as number[], other: [] as number[] };
    const waited = { alone: 0, same: 0, other: 0 };
    const spent = { alone: 0, same: 0, other: 0 };
    const gc = { alone: [] as number[], same: [] as number[], other: [] as number[] };
    const heap = { alone: 0, same: 0, other: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      for (const kind of ['alone', 'same', 'other'] as const) {
        const w0 = runQueueMs();
        pauses.length = 0;
        const sampler = setInterval(
          () => (heap[kind] = Math.max(heap[kind], process.memoryUsage().heapUsed / 1e6)),
          20,
        );
        const t0 = performance.now();
        const until =
          kind === 'alone'
            ? new Promise((r) => setTimeout(r, ALONE_MS))
            : runExports(kind === 'same' ? base : otherBase);
        windows[kind].push(...(await pace(base, agent, until)));
        waited[kind] += runQueueMs() - w0;
        spent[kind] += performance.now() - t0;
        gc[kind].push(...pauses);
        clearInterval(sampler);
      }
    }
    agent.destroy();
    console.log(`${driver}:`);
    for (const kind of ['alone', 'same', 'other'] as const)
      console.log(
        `  ${kind.padEnd(5)} ${show(windows[kind])}; event loop waited for a CPU ${((100 * waited[kind]) / spent[kind]).toFixed(0)}% of the window; ` +
          `GC ${gc[kind].reduce((a, b) => a + b, 0).toFixed(0)} ms in ${gc[kind].length} pauses, longest ${Math.max(0, ...gc[kind]).toFixed(1)} ms; heap up to ${heap[kind].toFixed(0)} MB`,
      );
    other.kill('SIGTERM');
    await once(other, 'exit');
    await app.close();
  }
} finally {
  databases.stop();
  const { getPool } = await import('smartasync');
  await getPool().close();
}
