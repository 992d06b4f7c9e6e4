// The drivers the users API tests run, by name; no imports, so that the report at the end of
// `npm test` (./driver-report.ts) can list them without loading any driver.

/**
 * The drivers of the compatibility table: better-sqlite3, node:sqlite and pg-native (blocking,
 * DatabaseManager), pg and mysql2 (async, AsyncDriverManager). `postgres` is pg-native and `pg`
 * node-postgres, on the same PostgreSQL server; `mysql` is mysql2 on a MariaDB server.
 */
export type DriverName = 'better-sqlite3' | 'node-sqlite' | 'postgres' | 'pg' | 'mysql';
export const DRIVERS: readonly DriverName[] = ['better-sqlite3', 'node-sqlite', 'postgres', 'pg', 'mysql'];
export const SYNC_DRIVERS: readonly DriverName[] = ['better-sqlite3', 'node-sqlite', 'postgres'];
export const isAsyncDriverName = (driver: DriverName) => driver === 'pg' || driver === 'mysql';
/** The SQL dialect behind a driver. */
export const dialectOf = (driver: DriverName) =>
  driver === 'mysql' ? 'mysql' : driver === 'postgres' || driver === 'pg' ? 'postgres' : 'sqlite';
/** The npm package (or Node module) each driver is. */
export const LIBRARY: Record<DriverName, string> = {
  'better-sqlite3': 'better-sqlite3',
  'node-sqlite': 'node:sqlite',
  postgres: 'pg-native',
  pg: 'pg',
  mysql: 'mysql2',
};

/**
 * Set (to 1) by CI: every driver's suite must run. A server that is missing then fails its
 * tests instead of skipping them, and the report at the end of `npm test` fails the run if any
 * driver did not run.
 */
export const REQUIRE_ALL_DRIVERS = 'REQUIRE_ALL_DRIVERS';
export const allDriversRequired = () => !['', '0', 'false', undefined].includes(process.env[REQUIRE_ALL_DRIVERS]);
