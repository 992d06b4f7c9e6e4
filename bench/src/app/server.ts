// One build of the users API in its own process: `server.ts <build> <databaseUrl> [reportCost]`.
// Prints `PORT <n>` once listening on 127.0.0.1; closes gracefully on SIGTERM. The manual build is
// one piscina pool over a hand-written worker module (./queries.ts), the query picked per call.
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { buildApp } from 'users-api/app';
import { closeWorkerPool, DATA_METHODS, type Store } from 'users-api/store';
import type { Build } from './http.ts';

const [build, databaseUrl, cost] = process.argv.slice(2) as [Build, string, string | undefined];
const reportCost = cost ? Number(cost) : undefined;

// As many threads as smartasync's default pool, kept alive: piscina's own defaults (1 to 1.5 × cores,
// idleTimeout 0) would start and end threads, each opening a connection, and measure that instead.
const threads = availableParallelism();
const pool =
  build === 'manual-piscina'
    ? new Piscina({
        filename: new URL('./queries.ts', import.meta.url).href,
        workerData: { databaseUrl, reportCost },
        minThreads: threads,
        maxThreads: threads,
      })
    : undefined;
// Errors cross piscina as plain Error clones: a data-layer error's `code` is lost (a 500). Typical, and
// irrelevant to the benchmarked endpoints.
const store = pool && {
  store: Object.fromEntries(
    DATA_METHODS.map((m) => [m, (...args: unknown[]) => pool.run(args, { name: m })]),
  ) as unknown as Store,
  close: () => pool.destroy(),
};
const mode = { naive: 'inline', smartasync: 'smartasync', 'smartasync-auto': 'smartasync-auto' } as const;
const app = await buildApp({
  databaseUrl,
  reportCost,
  logger: false,
  ...(build === 'manual-piscina' ? { store } : { mode: mode[build] }),
});
// Bench-only: the event loop's delay since the last read, so the runner can tell a light request that
// waited on a busy event loop from one that waited for a worker.
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
app.get('/__bench/event-loop', { schema: { hide: true } }, async () => {
  const out = { p50Ms: delay.percentile(50) / 1e6, p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6 };
  delay.reset();
  return out;
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`PORT ${(app.server.address() as { port: number }).port}\n`);

process.on('SIGTERM', async () => {
  await app.close();
  await store?.close();
  await closeWorkerPool();
  process.exit(0);
});
