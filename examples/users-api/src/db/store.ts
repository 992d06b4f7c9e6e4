import type { PoolStats } from 'smartasync';
import type { DatabaseManager, ManagerOptions } from './manager.ts';

type DataMethod = Exclude<keyof DatabaseManager, 'close' | typeof Symbol.dispose>;
type Async<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

/** What the HTTP layer needs from the data layer: DatabaseManager's methods, awaited. */
export type Store = { [K in DataMethod]: Async<DatabaseManager[K]> };

/**
 * How the blocking DatabaseManager is called from the server:
 * - `smartasync`: on pool worker threads, one connection per worker (the point of the app);
 * - `inline`: directly on the event loop, the naive way, kept for comparison and benchmarks.
 */
export type DataMode = 'smartasync' | 'inline';

export interface OpenStore {
  store: Store;
  /** Releases the connections this store opened (not the process-wide worker pool). */
  close(): Promise<void>;
  poolStats?: () => PoolStats;
}

let smartasyncLoaded = false;

/** Ends the process-wide worker pool, if this process ever started it. */
export async function closeWorkerPool(): Promise<void> {
  if (smartasyncLoaded) await (await import('smartasync')).getPool().close();
}

export async function openStore(url: string, mode: DataMode, options: ManagerOptions = {}): Promise<OpenStore> {
  if (mode === 'inline') {
    const { DatabaseManager } = await import('./manager.ts');
    const db = new DatabaseManager(url, options);
    return { store: inlineStore(db), close: async () => db.close() };
  }
  // Loaded on demand so that the inline mode never starts smartasync.
  const [{ AsyncDatabaseManager }, { getPool, release }] = await Promise.all([
    import('./async.ts'),
    import('smartasync'),
  ]);
  smartasyncLoaded = true;
  const db = new AsyncDatabaseManager(url, options);
  return {
    store: db,
    // Closes each worker's replica (its own connection), then this thread's instance.
    close: () => release(db),
    poolStats: () => getPool().stats(),
  };
}

function inlineStore(db: DatabaseManager): Store {
  const call =
    <A extends unknown[], R>(method: (...args: A) => R) =>
    async (...args: A): Promise<R> =>
      method.apply(db, args);
  return {
    getAllUsers: call(db.getAllUsers),
    getUser: call(db.getUser),
    createUser: call(db.createUser),
    updateUser: call(db.updateUser),
    deleteUser: call(db.deleteUser),
    getAllAccounts: call(db.getAllAccounts),
    getAccount: call(db.getAccount),
    createAccount: call(db.createAccount),
    transfer: call(db.transfer),
    usersReport: call(db.usersReport),
  };
}
