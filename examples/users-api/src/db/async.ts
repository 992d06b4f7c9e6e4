// The whole of the smartasync integration. It lives in its own module, imported by the app
// and by the CLI, because pool workers import this module to find the classes again: it must
// not be the process entry module, which would start the server again in every worker.
import { smartasync, type SmartInstance } from 'smartasync';
import { AsyncDriverManager } from './async-manager.ts';
import { DatabaseManager, type ManagerOptions } from './manager.ts';
import { isAsyncDriver, parseDatabaseUrl } from './url.ts';

/** The synchronous data layer: `await` runs a method on a worker, `.sync()` runs it here. */
export const AsyncDatabaseManager = smartasync(DatabaseManager);

// The same class, but methods whose calls keep finishing under 0.25 ms run inline: the hand-off
// to a worker would cost more than the event loop loses. Not the library's default 0.1 ms: a
// worker woken from sleep measures a 20 µs primary-key read at 0.1-0.25 ms (cold caches), and
// spaced requests would then never run inline. The app calls only SQLite's
// primary-key reads through it (POINT_READS in ./store.ts). The state lives in the database, so
// an inline call on this thread's connection sees the same data.
export const AutoDatabaseManager = smartasync(DatabaseManager, { offload: 'auto', inlineBelowMs: 0.25 });

/**
 * The async data layer (mysql2, pg), wrapped by the same call: `await` runs a method here, on
 * the event loop, as any async code; `.sync()` runs it on smartasync's bridge worker while the
 * caller blocks (the CLI).
 */
export const SmartAsyncDriverManager = smartasync(AsyncDriverManager);

/** Either wrapped data layer: both have the same methods, awaited or `.sync()`. */
export type DataLayer = SmartInstance<DatabaseManager> | SmartInstance<AsyncDriverManager>;

/** The wrapped data layer for `url`: DatabaseManager over a synchronous driver, AsyncDriverManager over an async one. */
export function openDataLayer(url: string, options: ManagerOptions = {}): DataLayer {
  return isAsyncDriver(parseDatabaseUrl(url))
    ? new SmartAsyncDriverManager(url, options)
    : new AsyncDatabaseManager(url, options);
}
