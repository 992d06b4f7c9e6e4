import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type PostgresCluster, startPostgres } from './postgres.ts';

export type DriverName = 'better-sqlite3' | 'node-sqlite' | 'postgres';
export const DRIVERS: readonly DriverName[] = ['better-sqlite3', 'node-sqlite', 'postgres'];

/** Hands out fresh, empty databases of each driver; `stop()` removes all of them. */
export interface TestDatabases {
  freshUrl(driver: DriverName): string;
  restartPostgres(): void;
  /** The cluster behind `freshUrl('postgres')`, for fault injection. */
  readonly postgres: PostgresCluster;
  stop(): void;
}

export async function testDatabases({ postgres = true } = {}): Promise<TestDatabases> {
  const dir = mkdtempSync(join(tmpdir(), 'users-api-test-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  process.on('exit', removeDir);
  let cluster: PostgresCluster | undefined;
  // Without a server only the PostgreSQL tests fail (loudly, with the reason); the rest run.
  let unavailable: Error | undefined;
  if (postgres) {
    try {
      cluster = await startPostgres();
    } catch (error) {
      unavailable = error as Error;
    }
  }
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
          if (unavailable) throw unavailable;
          if (!cluster) throw new Error('testDatabases({ postgres: false }) has no PostgreSQL');
          return cluster.createDatabase(`users_${n}`);
      }
    },
    restartPostgres() {
      if (unavailable) throw unavailable;
      cluster!.restart();
    },
    get postgres() {
      if (unavailable) throw unavailable;
      if (!cluster) throw new Error('testDatabases({ postgres: false }) has no PostgreSQL');
      return cluster;
    },
    stop() {
      cluster?.stop();
      removeDir();
      process.off('exit', removeDir);
    },
  };
}
