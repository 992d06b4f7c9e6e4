import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type MariaDbServer, startMariaDb } from './mariadb.ts';
import { type PostgresCluster, startPostgres } from './postgres.ts';

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

/** Hands out fresh, empty databases of each driver; `stop()` removes all of them. */
export interface TestDatabases {
  freshUrl(driver: DriverName): string;
  restartPostgres(): void;
  /** The cluster behind `freshUrl('postgres')` and `freshUrl('pg')`, for fault injection. */
  readonly postgres: PostgresCluster;
  /** The server behind `freshUrl('mysql')`. */
  readonly mariadb: MariaDbServer;
  stop(): void;
}

/** The databases a test file needs; each server is started only if asked for (both by default). */
export async function testDatabases({ postgres = true, mariadb = true } = {}): Promise<TestDatabases> {
  const dir = mkdtempSync(join(tmpdir(), 'users-api-test-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  // Without a server only that server's tests fail (loudly, with the reason); the rest run.
  const start = async <T>(wanted: boolean, what: string, run: () => Promise<T>) => {
    if (!wanted) return { missing: new Error(`testDatabases({ ${what}: false }) has no ${what} server`) };
    try {
      return { server: await run() };
    } catch (error) {
      return { missing: error as Error };
    }
  };
  const [pg, maria] = await Promise.all([
    start(postgres, 'postgres', startPostgres),
    start(mariadb, 'mariadb', startMariaDb),
  ]);
  const cluster = () => {
    if (!pg.server) throw pg.missing;
    return pg.server;
  };
  const mariaServer = () => {
    if (!maria.server) throw maria.missing;
    return maria.server;
  };
  let n = 0;
  return {
    freshUrl(driver) {
      n += 1;
      switch (driver) {
        case 'better-sqlite3':
          return `sqlite:${join(dir, `db${n}.db`)}`;
        case 'node-sqlite':
          return `node-sqlite:${join(dir, `db${n}.db`)}`;
        case 'postgres':
          return cluster().createDatabase(`users_${n}`);
        case 'pg':
          return cluster()
            .createDatabase(`users_${n}`)
            .replace(/^postgres(ql)?:\/\//, 'postgres+pg://');
        case 'mysql':
          return mariaServer().createDatabase(`users_${n}`);
      }
    },
    restartPostgres() {
      cluster().restart();
    },
    get postgres() {
      return cluster();
    },
    get mariadb() {
      return mariaServer();
    },
    stop() {
      pg.server?.stop();
      maria.server?.stop();
      removeDir();
      process.off('exit', removeDir);
    },
  };
}
