import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { recordDriver } from './driver-report.ts';
import { allDriversRequired, type DriverName, REQUIRE_ALL_DRIVERS } from './drivers.ts';
import { MARIADB_INSTALL, mariadbBinaries, type MariaDbServer, startMariaDb } from './mariadb.ts';
import { postgresBinaries, type PostgresCluster, startPostgres } from './postgres.ts';

export { DRIVERS, type DriverName, dialectOf, isAsyncDriverName, SYNC_DRIVERS } from './drivers.ts';

/**
 * node:test options for a suite or test that needs `driver`'s server: skipped, with the reason
 * and the command that installs it, when the machine has no such server and none can come from
 * npm (MariaDB). PostgreSQL comes from npm (`npm ci`), so it is never skipped. Under
 * REQUIRE_ALL_DRIVERS (CI) nothing is skipped: the tests run, and fail saying what is missing.
 */
export function needs(driver: DriverName): { skip?: string } {
  if (driver !== 'mysql' || allDriversRequired()) return {};
  const { missing } = mariadbBinaries();
  if (missing === undefined) return {};
  recordDriver({ driver, skipped: missing, enable: MARIADB_INSTALL });
  return { skip: `${missing}; to run it: ${MARIADB_INSTALL}` };
}

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

/** The SQLite a driver links: better-sqlite3 bundles its own, node:sqlite is Node's. */
function sqliteVersion(driver: DriverName): string {
  const query = 'SELECT sqlite_version() AS v';
  if (driver === 'node-sqlite') {
    const db = new DatabaseSync(':memory:');
    const { v } = db.prepare(query).get()!;
    db.close();
    return String(v);
  }
  const db = new Database(':memory:');
  const [row] = db.prepare(query).all();
  db.close();
  return String(row?.v);
}

/**
 * The databases a test file needs; each server is started only if asked for (both by default).
 * A server that cannot start fails only the tests that use it, with the reason (a MariaDB that
 * is not installed at once: those tests are skipped, see `needs`).
 */
export async function testDatabases({ postgres = true, mariadb = true } = {}): Promise<TestDatabases> {
  const dir = mkdtempSync(join(tmpdir(), 'users-api-test-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  const start = async <T>(wanted: boolean, what: string, run: () => Promise<T>) => {
    if (!wanted) return { missing: new Error(`testDatabases({ ${what}: false }) has no ${what} server`) };
    try {
      return { server: await run() };
    } catch (error) {
      return { missing: error as Error };
    }
  };
  const startMaria = async () => {
    const { missing } = mariadbBinaries();
    if (missing === undefined) return startMariaDb();
    throw new Error(
      `${missing}. ${
        allDriversRequired()
          ? `${REQUIRE_ALL_DRIVERS} is set, so the tests that need it fail instead of being skipped`
          : "A test that needs it must say so with needs('mysql'), which skips it"
      }. Install it: ${MARIADB_INSTALL}`,
    );
  };
  const [pg, maria] = await Promise.all([
    start(postgres, 'postgres', startPostgres),
    start(mariadb, 'mariadb', startMaria),
  ]);
  const cluster = () => {
    if (!pg.server) throw pg.missing;
    return pg.server;
  };
  const mariaServer = () => {
    if (!maria.server) throw maria.missing;
    return maria.server;
  };
  const used = (driver: DriverName) => {
    switch (driver) {
      case 'better-sqlite3':
        return recordDriver({ driver, server: `SQLite ${sqliteVersion(driver)}`, source: 'bundled in better-sqlite3' });
      case 'node-sqlite':
        return recordDriver({
          driver,
          server: `SQLite ${sqliteVersion(driver)}`,
          source: `Node ${process.versions.node}`,
        });
      case 'postgres':
      case 'pg': {
        const { version, source } = postgresBinaries();
        return recordDriver({ driver, server: version, source });
      }
      case 'mysql': {
        const bin = mariadbBinaries();
        return recordDriver({ driver, server: mariaServer().version, source: 'mariadbd' in bin ? bin.mariadbd : '' });
      }
    }
  };
  const recorded = new Set<DriverName>();
  let n = 0;
  return {
    freshUrl(driver) {
      n += 1;
      const url = (() => {
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
      })();
      if (!recorded.has(driver)) {
        recorded.add(driver);
        used(driver);
      }
      return url;
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
