// Issue 15, defect 8: how much of the light request's tail during exports is the server's own
// doing? Three kinds of window alternate, a /health request every 5 ms to this process's app
// in each: no exports; 8 exports served by this same app; the same 8 exports served by a second
// copy of the app in a process of its own (so this process's event loop does none of their
// work: what the light request suffers then is the machine's, the floor any design meets).
// Usage (from examples/users-api): node scripts/export-floor.ts [--rounds=3] [--drivers=pg,mysql]
// [--nice=10] (the workers' nice steps below the event loop, in both apps; 0 runs them alongside).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import { buildApp } from '../src/app.ts';
import { testDatabases, type DriverName } from '../test/support/databases.ts';
import { configure } from 'smartasync';
import { WORKER_NICE } from '../src/config.ts';
import { POOL_SIZE, TEST_MODE } from '../test/support/pool.ts';
import { seedUsers } from '../test/support/raw.ts';
import { startServer } from '../test/support/server.ts';
import { pace, runExports, shown, summary } from '../test/support/light-load.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    drivers: { type: 'string', default: 'better-sqlite3,pg,mysql' },
    nice: { type: 'string', default: String(WORKER_NICE) },
  },
});
const ROUNDS = Number(values.rounds);
const ROWS = 20_000;
const EXPORTS = 8;
const PACE_MS = 5;
const ALONE_MS = 1_000;

/** This thread's time waiting for a CPU so far (ms), from the scheduler's statistics (Linux). */
const runQueueMs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;

/** This thread's garbage-collection pauses (ms), as they happen. */
const pauses: number[] = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) pauses.push(e.duration);
}).observe({ entryTypes: ['gc'] });

configure({ size: POOL_SIZE, workerNice: Number(values.nice) });
const databases = await testDatabases();
try {
  for (const driver of values.drivers.split(',') as DriverName[]) {
    const url = databases.freshUrl(driver);
    const app = await buildApp({ databaseUrl: url, mode: TEST_MODE });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    await seedUsers(driver, url, ROWS, 'n'.repeat(180), 'load.test');
    const other = await startServer({
      DATABASE_URL: url,
      LOG_LEVEL: 'info',
      DATA_MODE: TEST_MODE,
      DB_POOL_SIZE: String(POOL_SIZE),
      DB_WORKER_NICE: values.nice,
    });
    const otherBase = other.base;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    await runExports(base, EXPORTS);
    await runExports(otherBase, EXPORTS);
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
            : runExports(kind === 'same' ? base : otherBase, EXPORTS);
        windows[kind].push(...(await pace(base, '/health', agent, until, PACE_MS)));
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
        `  ${kind.padEnd(5)} ${shown(summary(windows[kind]))}; event loop waited for a CPU ${((100 * waited[kind]) / spent[kind]).toFixed(0)}% of the window; ` +
          `GC ${gc[kind].reduce((a, b) => a + b, 0).toFixed(0)} ms in ${gc[kind].length} pauses, longest ${Math.max(0, ...gc[kind]).toFixed(1)} ms; heap up to ${heap[kind].toFixed(0)} MB`,
      );
    other.child.kill('SIGTERM');
    await other.exited;
    await app.close();
  }
} finally {
  databases.stop();
  const { getPool } = await import('smartasync');
  await getPool().close();
}
