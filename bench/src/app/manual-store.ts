// The manual build: one piscina pool over one hand-written worker module (./queries.ts), the
// query picked per call with piscina's `name` option.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { DATA_METHODS, type DataMethod, type OpenStore, type Store } from 'users-api/store';

const queries = new URL('./queries.ts', import.meta.url).href;

/** A Store whose every call goes through `call(method, args)`. */
function dispatchStore(call: (method: DataMethod, args: unknown[]) => Promise<unknown>): Store {
  return Object.fromEntries(
    DATA_METHODS.map((method) => [method, (...args: unknown[]) => call(method, args)]),
  ) as unknown as Store;
}

export function manualStore(databaseUrl: string, reportCost?: number): OpenStore & { pool: Piscina } {
  // As many threads as smartasync's default pool, kept alive. piscina's own defaults (1 to
  // 1.5 × cores threads, idleTimeout 0) would start and end threads, each opening a new
  // connection, under this load: a handicap that measures piscina's defaults, not offloading.
  const threads = availableParallelism();
  const pool = new Piscina({
    filename: queries,
    workerData: { databaseUrl, reportCost },
    minThreads: threads,
    maxThreads: threads,
  });
  // Errors cross piscina as plain Error clones: a data-layer error's `code` (EMAIL_TAKEN...)
  // is lost and the app answers 500. Irrelevant to the benchmarked endpoints, and typical.
  const store = dispatchStore((method, args) => pool.run(args, { name: method }));
  return { store, pool, close: () => pool.destroy() };
}
