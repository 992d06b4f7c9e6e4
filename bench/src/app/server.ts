// One build of the users API in its own process: `server.ts <build> <databaseUrl> [reportCost]`.
// Prints `PORT <n>` once listening on 127.0.0.1; closes gracefully on SIGTERM.
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Build } from './types.ts';
import { buildApp } from 'users-api/app';
import { closeWorkerPool } from 'users-api/store';
import { manualStore } from './manual-store.ts';

const [build, databaseUrl, cost] = process.argv.slice(2) as [Build, string, string | undefined];
const reportCost = cost ? Number(cost) : undefined;

const manual = build === 'manual-piscina' ? manualStore(databaseUrl, reportCost) : undefined;
const app = await buildApp({
  databaseUrl,
  reportCost,
  logger: false,
  ...(build === 'naive' ? { mode: 'inline' as const } : {}),
  ...(build === 'smartasync' ? { mode: 'smartasync' as const } : {}),
  ...(build === 'smartasync-auto' ? { mode: 'smartasync-auto' as const } : {}),
  ...(manual ? { store: manual } : {}),
});
// Bench-only: the event loop's delay since the last read, so the runner can tell a light
// request that waited on a busy event loop from one that waited for a worker.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
app.get('/__bench/event-loop', { schema: { hide: true } }, async () => {
  const ms = (ns: number) => ns / 1e6;
  const out = { p50Ms: ms(loopDelay.percentile(50)), p99Ms: ms(loopDelay.percentile(99)), maxMs: ms(loopDelay.max) };
  loopDelay.reset();
  return out;
});
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`PORT ${(app.server.address() as { port: number }).port}\n`);

process.on('SIGTERM', async () => {
  await app.close();
  await manual?.close();
  await closeWorkerPool();
  process.exit(0);
});
