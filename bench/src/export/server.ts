// One export candidate in its own process: `server.ts <candidate> <sqlite path>`. The users API
// with smartasync's store for every route; GET /users/export (the app's own route, its encoding
// and backpressure) reads its rows one of three ways:
// - stream:  the app as it is, DatabaseManager.exportUsers, a generator run by smartasync;
// - all:     `await store.getAllUsers()`, every row in one array, then written out;
// - piscina: a hand-written piscina task streaming batches through a MessagePort (../workers/export-task.ts).
// Prints `PORT <n>` once listening; closes on SIGTERM.
import { availableParallelism } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { buildApp } from 'users-api/app';
import { closeWorkerPool, openStore, type Store } from 'users-api/store';
import type { Candidate } from './run.ts';

const [candidate, path] = process.argv.slice(2) as [Candidate, string];
const opened = await openStore(`sqlite:${path}`, 'smartasync');
const { store } = opened;
let pool: Piscina | undefined;

type User = Awaited<ReturnType<Store['getAllUsers']>>[number];

if (candidate === 'all') {
  store.exportUsers = async function* () {
    yield* await store.getAllUsers();
  };
} else if (candidate === 'piscina') {
  const threads = availableParallelism();
  pool = new Piscina({
    filename: new URL('../workers/export-task.ts', import.meta.url).href,
    workerData: { path },
    minThreads: threads,
    maxThreads: threads,
  });
  const run = pool;
  store.exportUsers = async function* (signal?: AbortSignal) {
    const { port1, port2 } = new MessageChannel();
    const queue: (User[] | null)[] = [];
    let failed: unknown;
    let wake: (() => void) | undefined;
    port1.on('message', (batch: User[] | null) => {
      queue.push(batch);
      wake?.();
    });
    // 256-row batches, 2 ahead: the worker runs at most 512 rows ahead, as smartasync's 256.
    const task = run.run({ port: port2, batch: 256, credit: 2 }, { transferList: [port2], signal });
    task.catch((error: unknown) => {
      failed = error;
      wake?.();
    });
    try {
      for (;;) {
        while (queue.length === 0 && failed === undefined) await new Promise<void>((resolve) => (wake = resolve));
        if (queue.length === 0) throw failed;
        const batch = queue.shift()!;
        if (batch === null) break;
        port1.postMessage('more');
        yield* batch;
      }
    } finally {
      port1.postMessage('stop');
      await task.catch(() => {});
      port1.close();
    }
  };
}

const app = await buildApp({ store: opened, logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`PORT ${(app.server.address() as { port: number }).port}\n`);

process.on('SIGTERM', async () => {
  await app.close();
  await opened.close();
  await pool?.destroy();
  await closeWorkerPool();
  process.exit(0);
});
