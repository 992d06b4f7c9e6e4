// The manual build: one piscina pool and a hand-written worker file per query (./queries),
// selected per call with piscina's `filename` option.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { dispatchStore, type DataMethod, type OpenStore } from '../../../examples/users-api/src/db/store.ts';

const FILES: Record<DataMethod, string> = {
  getAllUsers: 'get-all-users.ts',
  getUser: 'get-user.ts',
  createUser: 'create-user.ts',
  updateUser: 'update-user.ts',
  deleteUser: 'delete-user.ts',
  getAllAccounts: 'get-all-accounts.ts',
  getAccount: 'get-account.ts',
  createAccount: 'create-account.ts',
  transfer: 'transfer.ts',
  usersReport: 'users-report.ts',
};

const fileUrl = (m: DataMethod) => new URL(`./queries/${FILES[m]}`, import.meta.url).href;

export function manualStore(databaseUrl: string, reportCost?: number): OpenStore & { pool: Piscina } {
  // As many threads as smartasync's default pool, kept alive. piscina's own defaults (1 to
  // 1.5 × cores threads, idleTimeout 0) would start and end threads, each opening a new
  // connection, under this load: a handicap that measures piscina's defaults, not offloading.
  const threads = availableParallelism();
  const pool = new Piscina({ workerData: { databaseUrl, reportCost }, minThreads: threads, maxThreads: threads });
  // Errors cross piscina as plain Error clones: a data-layer error's `code` (EMAIL_TAKEN...)
  // is lost and the app answers 500. Irrelevant to the benchmarked endpoints, and typical.
  const store = dispatchStore((method, args) => pool.run(args, { filename: fileUrl(method) }));
  return { store, pool, close: () => pool.destroy() };
}
