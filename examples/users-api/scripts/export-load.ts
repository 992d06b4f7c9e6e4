// Measures what many exports at once cost the server's other requests (issue 15, defect 8): a
// server (buildApp, in this process) over a throwaway database of DRIVER with ROWS users; a
// light endpoint (LIGHT, /health) sent every 10 ms for 3 s alone, then while EXPORTS exports
// are downloaded at once by another process at the lowest priority. Prints one JSON line: the
// light request's p50/p99/max alone and during, and this thread's CPU time, run-queue wait,
// event-loop delay and garbage collection while the exports ran.
//   DRIVER=mysql EXPORTS=20 ROWS=100000 node examples/users-api/scripts/export-load.ts
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { setPriority } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { buildApp } from '../src/app.ts';
import { dialectOf, DRIVERS, type DriverName, testDatabases } from '../test/support/databases.ts';
import { rawQuery } from '../test/support/raw.ts';

const driver = (process.env.DRIVER ?? 'mysql') as DriverName;
if (!DRIVERS.includes(driver)) throw new Error(`DRIVER must be one of ${DRIVERS.join(', ')}`);
const EXPORTS = Number(process.env.EXPORTS ?? 20);
const ROWS = Number(process.env.ROWS ?? 100_000);
const LIGHT = process.env.LIGHT ?? '/health';
const NAME = 'n'.repeat(180);

const databases = await testDatabases({ postgres: dialectOf(driver) === 'postgres', mariadb: driver === 'mysql' });
const url = databases.freshUrl(driver);
const app = await buildApp({ databaseUrl: url, mode: 'smartasync' });
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
await rawQuery(
  driver,
  url,
  {
    sqlite: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS}) INSERT INTO users (name, email) SELECT '${NAME}' || i, 'user' || i || '@export.test' FROM n`,
    postgres: `INSERT INTO users (name, email) SELECT '${NAME}' || i, 'user' || i || '@export.test' FROM generate_series(1, ${ROWS}) AS i`,
    mysql: `INSERT INTO users (name, email) SELECT CONCAT('${NAME}', seq), CONCAT('user', seq, '@export.test') FROM seq_1_to_${ROWS}`,
  }[dialectOf(driver)],
);

const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
const get = (path: string) =>
  new Promise<number>((resolve, reject) => {
    const started = performance.now();
    http
      .get(`${base}${path}`, { agent }, (response) => {
        response.resume();
        response.on('end', () => resolve(performance.now() - started));
      })
      .on('error', reject);
  });

/** LIGHT every 10 ms until `until` settles; its answer times' p50, p99 and max. */
async function probe(until: Promise<unknown>) {
  const times: number[] = [];
  const pending: Promise<void>[] = [];
  let done = false;
  void until.then(() => (done = true));
  while (!done) {
    pending.push(get(LIGHT).then((ms) => void times.push(ms)));
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(pending);
  times.sort((a, b) => a - b);
  const at = (q: number) => +times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(1);
  return { n: times.length, p50: at(0.5), p99: at(0.99), max: +times.at(-1)!.toFixed(1) };
}

function downloads(): Promise<{ exports: { status: number; lines: number }[]; ms: number }> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, '../test/support/export-readers.ts'), base, `${EXPORTS}`],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  setPriority(child.pid!, 19);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.on('exit', () => resolve(JSON.parse(out))));
}

/** ms this thread has waited for a CPU (Linux schedstat). */
const runQueueMs = () => Number(readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ')[1]) / 1e6;

for (let i = 0; i < 50; i++) await get(LIGHT);
await get('/users/export');
const alone = await probe(new Promise((r) => setTimeout(r, 3_000)));

const delay = monitorEventLoopDelay({ resolution: 1 });
const pauses: number[] = [];
const gc = new PerformanceObserver((list) => list.getEntries().forEach((entry) => pauses.push(entry.duration)));
gc.observe({ entryTypes: ['gc'] });
delay.enable();
const [cpu0, wait0, started] = [process.threadCpuUsage(), runQueueMs(), performance.now()];
const run = downloads();
const during = await probe(run);
const cpu = process.threadCpuUsage(cpu0);
const wall = performance.now() - started;
const waited = runQueueMs() - wait0;
delay.disable();
gc.disconnect();
const result = await run;
const loop = {
  cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  runQueueShare: +(waited / wall).toFixed(2),
  delayP99Ms: +(delay.percentile(99) / 1e6).toFixed(1),
  delayMaxMs: +(delay.max / 1e6).toFixed(1),
  gcMs: Math.round(pauses.reduce((a, b) => a + b, 0)),
  gcMaxMs: +Math.max(0, ...pauses).toFixed(1),
};
const statuses = [...new Set(result.exports.map((e) => `${e.status}:${e.lines} lines`))];
console.log(JSON.stringify({ driver, EXPORTS, ROWS, LIGHT, alone, during, loop, exportsMs: result.ms, statuses }));
await app.close();
databases.stop();
process.exit(0);
