// One build of the users API in its own process: `server.ts <build> <databaseUrl> [reportCost]`.
// Prints `PORT <n>` once listening on 127.0.0.1; closes gracefully on SIGTERM. The manual build is
// one piscina pool over a hand-written worker module (./queries.ts), the query picked per call. The
// export builds (issue 11) are the smartasync build with GET /users/export made another way:
// `export-all`, `await store.getAllUsers()`, every row in one array, encoded here; `export-piscina`,
// a hand-written piscina task that encodes on its worker, as the app does, and streams the text
// through a MessagePort (../workers/export-task.ts).
import { availableParallelism } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { configure } from 'smartasync';
import { buildApp } from 'users-api/app';
import { WORKER_NICE } from 'users-api/config';
import { exportText } from 'users-api/export-text';
import { closeWorkerPool, DATA_METHODS, openStore, type Store } from 'users-api/store';
import type { Build } from './http.ts';

const [build, databaseUrl, cost] = process.argv.slice(2) as [Build, string, string | undefined];
const reportCost = cost ? Number(cost) : undefined;
// smartasync's pool as the server configures it (users-api src/main.ts): workers below the event loop.
configure({ workerNice: Number(process.env.DB_WORKER_NICE ?? WORKER_NICE) });

// As many threads as smartasync's default pool, kept alive: piscina's own defaults (1 to 1.5 × cores,
// idleTimeout 0) would start and end threads, each opening a connection, and measure that instead.
const threads = availableParallelism();
const piscina = (file: string, workerData: object) =>
  new Piscina({ filename: new URL(file, import.meta.url).href, workerData, minThreads: threads, maxThreads: threads });
const pool =
  build === 'manual-piscina'
    ? piscina('./queries.ts', { databaseUrl, reportCost })
    : build === 'export-piscina'
      ? piscina('../workers/export-task.ts', { path: databaseUrl.replace(/^sqlite:/, '') })
      : undefined;
// Errors cross piscina as plain Error clones: a data-layer error's `code` is lost (a 500). Typical, and
// irrelevant to the benchmarked endpoints.
const manual = build === 'manual-piscina' && {
  store: Object.fromEntries(
    DATA_METHODS.map((m) => [m, (...args: unknown[]) => pool!.run(args, { name: m })]),
  ) as unknown as Store,
  close: async () => {}, // the pool is destroyed on its own below
};
const exporting = build.startsWith('export-') && (await openStore(databaseUrl, 'smartasync'));
if (exporting && build === 'export-all')
  exporting.store.exportText = (type) =>
    exportText(
      type,
      (async function* () {
        yield* await exporting.store.getAllUsers();
      })(),
    );
if (exporting && build === 'export-piscina')
  exporting.store.exportText = async function* (type, signal) {
    const { port1, port2 } = new MessageChannel();
    const queue: (string | null)[] = [];
    let failed: unknown;
    let wake: (() => void) | undefined;
    port1.on('message', (text: string | null) => (queue.push(text), wake?.()));
    // Two chunks ahead (512 rows): about what smartasync's stream runs ahead.
    const task = pool!.run({ port: port2, type, credit: 2 }, { transferList: [port2], signal });
    task.catch((error: unknown) => ((failed = error), wake?.()));
    try {
      for (;;) {
        while (queue.length === 0 && failed === undefined) await new Promise<void>((resolve) => (wake = resolve));
        if (queue.length === 0) throw failed;
        const text = queue.shift()!;
        if (text === null) break;
        port1.postMessage('more');
        yield text;
      }
    } finally {
      port1.postMessage('stop');
      await task.catch(() => {});
      port1.close();
    }
  };
const mode = { naive: 'inline', smartasync: 'smartasync', 'smartasync-auto': 'smartasync-auto' } as const;
const app = await buildApp({
  databaseUrl,
  reportCost,
  logger: false,
  ...(manual ? { store: manual } : exporting ? { store: exporting } : { mode: mode[build as keyof typeof mode] }),
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
  await (manual || exporting || undefined)?.close();
  await pool?.destroy();
  await closeWorkerPool();
  process.exit(0);
});
