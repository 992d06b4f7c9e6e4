import type { PoolStats } from 'smartasync';
import { type ExportType, exportText } from '../export-text.ts';
import type { AsyncDriverManager } from './async-manager.ts';
import { CALL_TIMEOUT_MARGIN_MS, DEFAULT_DATABASE_TIMEOUT_MS } from './drivers/driver.ts';
import { DatabaseManager, type ManagerOptions, type User } from './manager.ts';
import { migrate, type MigrateResult } from './migrate.ts';
import { isAsyncDriver, parseDatabaseUrl } from './url.ts';

/** The data methods the HTTP layer calls (`ping` is the readiness check's, see OpenStore). */
export type DataMethod = Exclude<keyof DatabaseManager, 'close' | 'ping' | typeof Symbol.dispose>;
/** The export's methods: generators, read as async ones through the Store. */
const STREAM_METHODS = ['exportUsers', 'exportText'] as const;
type StreamMethod = (typeof STREAM_METHODS)[number];
type Async<F> = F extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;

/**
 * What the HTTP layer needs from the data layer: DatabaseManager's methods, awaited; and the
 * export as an async generator of users, or of chunks of its text (../export-text.ts), which
 * ends early (its database cursor closed) when `signal` aborts or the loop reading it ends.
 */
export type Store = { [K in Exclude<DataMethod, StreamMethod>]: Async<DatabaseManager[K]> } & {
  exportUsers(signal?: AbortSignal): AsyncGenerator<User, void, undefined>;
  exportText(type: ExportType, signal?: AbortSignal): AsyncGenerator<string, void, undefined>;
};

// AsyncDriverManager has the same methods, already async: it fails to compile if they drift apart.
type SameMethods =
  { [K in Exclude<DataMethod, StreamMethod>]: AsyncDriverManager[K] } extends Omit<Store, StreamMethod> ? true : never;
const sameMethods: SameMethods = true;
void sameMethods;

/**
 * How the blocking DatabaseManager is called from the server:
 * - `smartasync-auto` (the default): on pool worker threads, one connection per worker (the
 *   point of the app), except SQLite's primary-key reads (getUser, getAccount) once they keep
 *   finishing under 0.25 ms: those run inline, where the hand-off would cost more than the loop
 *   loses (see POINT_READS);
 * - `smartasync`: every call on a worker;
 * - `inline`: directly on the event loop, the naive way, kept for comparison and benchmarks.
 */
export type DataMode = 'smartasync' | 'smartasync-auto' | 'inline';

export interface OpenStore {
  store: Store;
  /** Releases the connections this store opened (not the process-wide worker pool). */
  close(): Promise<void>;
  poolStats?: () => PoolStats;
  /** One round trip to the database the way requests make it, for `/ready`; rejects if it fails or is slow. */
  ping?: () => Promise<unknown>;
  /** What openStore's migration did, for the start-up log. */
  migration?: MigrateResult;
}

export { CALL_TIMEOUT_MARGIN_MS };
/** `/ready` answers within this, whatever the database does. */
export const READY_TIMEOUT_MS = 2_000;

/** The longest a data-layer call made through smartasync can take before it is answered. */
export function callTimeoutMs(options: ManagerOptions = {}): number {
  return (options.databaseTimeoutMs ?? DEFAULT_DATABASE_TIMEOUT_MS) + CALL_TIMEOUT_MARGIN_MS;
}

let smartasyncLoaded = false;

/** Ends the process-wide worker pool, if this process ever started it. */
export async function closeWorkerPool(): Promise<void> {
  if (smartasyncLoaded) await (await import('smartasync')).getPool().close();
}

/**
 * Migrates the database behind `url` (./migrate.ts: once, here, before any worker opens it; the
 * workers' replicas then only check the version), and opens the data layer over it.
 */
export async function openStore(url: string, mode: DataMode, options: ManagerOptions = {}): Promise<OpenStore> {
  const migration = await migrate(url, options);
  const opened = await (isAsyncDriver(parseDatabaseUrl(url)) ? openAsyncStore : openSyncStore)(url, mode, options);
  return { ...opened, migration };
}

async function openSyncStore(url: string, mode: DataMode, options: ManagerOptions): Promise<OpenStore> {
  if (mode === 'inline') {
    const db = new DatabaseManager(url, options);
    return { store: inlineStore(db), close: async () => db.close(), ping: async () => db.ping() };
  }
  // Loaded on demand: the inline mode has no use for the wrapped class or the pool.
  const [{ AsyncDatabaseManager, AutoDatabaseManager }, { getPool, release }] = await Promise.all([
    import('./async.ts'),
    import('smartasync'),
  ]);
  smartasyncLoaded = true;
  const db = new AsyncDatabaseManager(url, options);
  // A second instance for the reads that may run inline: smartasync's `offload` policy is the
  // class's. Over a server (pg-native) a read waits on the network, which the loop must not do.
  const reads =
    mode === 'smartasync-auto' && parseDatabaseUrl(url).driver !== 'postgres'
      ? new AutoDatabaseManager(url, options)
      : undefined;
  // Workers start, load the data layer and open their connections now, not on the first request.
  await getPool().warm(db, ...(reads ? [reads] : []));
  const timeout = callTimeoutMs(options);
  // Bound once here rather than per request: `.with()` makes a new function. The export has
  // no overall timeout (a million rows take seconds): it ends when its reader goes away.
  const store = Object.fromEntries(
    DATA_METHODS.filter((method) => !isStreamMethod(method)).map((method) => [
      method,
      (reads && POINT_READS.has(method) ? reads : db)[method].with({ timeout }),
    ]),
  ) as unknown as Store;
  store.exportUsers = (signal) => (signal ? db.exportUsers.with({ signal })() : db.exportUsers());
  // The text is made on the worker too: only its chunks reach this thread.
  store.exportText = (type, signal) => (signal ? db.exportText.with({ signal })(type) : db.exportText(type));
  const ping = db.ping.with({ timeout: Math.min(timeout, READY_TIMEOUT_MS) });
  return {
    store,
    ping: () => ping(),
    // Closes each worker's replica (its own connection), then this thread's instance.
    close: async () => {
      await release(db);
      if (reads) await release(reads);
    },
    poolStats: () => getPool().stats(),
  };
}

/**
 * An async driver (mysql2, pg): its methods already wait without blocking, so the server awaits
 * them here, whatever the mode (smartasync runs an awaited async method on this thread; the
 * wrapping is what gives the CLI `.sync()`). No worker, no per-call timeout from smartasync
 * (it bounds calls it sends elsewhere); the driver's own bounds apply, and a deadline of the
 * same length as smartasync's is kept here so that a request is answered 503 in the same time.
 *
 * The export is the exception (but in the `inline` mode, kept naive for comparison): it runs on
 * pool workers (./async-export.ts, `offloadAsync`), each with its own replica and connections,
 * and sends back chunks of text. The driver parses every row it receives where it
 * is awaited: twenty 100k-row exports on this event loop held light requests up for a second.
 */
async function openAsyncStore(url: string, mode: DataMode, options: ManagerOptions): Promise<OpenStore> {
  const [{ SmartAsyncDriverManager }, { OffloadedAsyncExport }, { getPool, release }] = await Promise.all([
    import('./async.ts'),
    import('./async-export.ts'),
    import('smartasync'),
  ]);
  smartasyncLoaded = true;
  const inline = mode === 'inline';
  const db = inline
    ? new (await import('./async-manager.ts')).AsyncDriverManager(url, options)
    : new SmartAsyncDriverManager(url, options);
  const exporter = inline ? undefined : new OffloadedAsyncExport(url, options);
  const close = async () => {
    if (exporter) await release(exporter); // each worker's replica closes its connections
    await (inline ? db.close() : release(db));
  };
  try {
    // Checks the schema's version, and fails start-up now if the database cannot be reached.
    await db.ping();
    // Workers start and build their replicas now (no connection yet), not on the first export.
    if (exporter) await getPool().warm(exporter);
  } catch (error) {
    await close();
    throw error;
  }
  const timeout = callTimeoutMs(options);
  const store = Object.fromEntries(
    DATA_METHODS.filter((method) => !isStreamMethod(method)).map((method) => [
      method,
      (...args: unknown[]) => deadline((db[method] as (...a: unknown[]) => Promise<unknown>).apply(db, args), timeout),
    ]),
  ) as unknown as Store;
  if (exporter) {
    store.exportUsers = (signal) => (signal ? exporter.users.with({ signal })() : exporter.users());
    store.exportText = (type, signal) => (signal ? exporter.text.with({ signal })(type) : exporter.text(type));
  } else {
    store.exportUsers = () => db.exportUsers();
    store.exportText = (type) => db.exportText(type);
  }
  return {
    store,
    ping: () => deadline(db.ping(), Math.min(timeout, READY_TIMEOUT_MS)),
    close,
    poolStats: exporter ? () => getPool().stats() : undefined,
  };
}

/** A call still pending after `ms` is answered as smartasync's per-call timeout is (503); its work goes on. */
export class DeadlineError extends Error {
  readonly code = 'DEADLINE';
  constructor(ms: number) {
    super(`The database did not answer within ${ms} ms`);
    this.name = 'DeadlineError';
  }
}

/**
 * A call that waited `ms` for a free worker without starting (every worker busy with other
 * calls): the server is busy, the database is not to blame. Answered 503, as a timeout is.
 */
export class ServerBusyError extends Error {
  readonly code = 'SERVER_BUSY';
  constructor(what: string, ms: number) {
    super(`${what} waited ${ms} ms for a free worker thread without starting: every worker was busy`);
    this.name = 'ServerBusyError';
  }
}

function deadline<T>(pending: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    pending,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new DeadlineError(ms)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * The methods `smartasync-auto` lets run inline on SQLite: one row by primary key, which no
 * writer can make wait (WAL), so a call that was fast stays fast. Writes stay on workers: one
 * waits for another connection's write lock (up to DB_TIMEOUT_MS), and inline it would hold the
 * event loop that long. So do lists, the report and the export, whose time grows with the data.
 */
export const POINT_READS: ReadonlySet<DataMethod> = new Set<DataMethod>(['getUser', 'getAccount']);

/** DatabaseManager's data methods, by name. */
export const DATA_METHODS = [
  'getAllUsers',
  'getUser',
  'createUser',
  'updateUser',
  'deleteUser',
  'getAllAccounts',
  'getAccount',
  'createAccount',
  'transfer',
  'usersReport',
  'exportUsers',
  'exportText',
] as const satisfies readonly DataMethod[];
const isStreamMethod = (method: DataMethod): method is StreamMethod =>
  (STREAM_METHODS as readonly DataMethod[]).includes(method);
// Fails to compile when DatabaseManager gains a method that is not listed above.
const listsEveryMethod: [Exclude<DataMethod, (typeof DATA_METHODS)[number]>] extends [never] ? true : never = true;
void listsEveryMethod;

function inlineStore(db: DatabaseManager): Store {
  // The naive way: the blocking method runs right here, on the event loop.
  const call =
    (method: DataMethod) =>
    async (...args: unknown[]) =>
      (db[method] as (...a: unknown[]) => unknown).apply(db, args);
  const store = Object.fromEntries(DATA_METHODS.map((method) => [method, call(method)])) as unknown as Store;
  // Each row is read on the event loop, between the response's writes.
  store.exportUsers = async function* () {
    yield* db.exportUsers();
  };
  store.exportText = (type) => exportText(type, db.exportUsers());
  return store;
}
