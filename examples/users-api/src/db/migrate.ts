// Migrations: umzug runs each dialect's ordered migrations (./migrations/) and records them in
// the version table (./schema-version.ts) through the app's own drivers. umzug does not lock,
// so the run holds the database's own lock: several processes (the cluster) starting at once
// apply each migration once, and the others find it done.
import type { Umzug, UmzugStorage } from 'umzug';
import { connectAsync, connectSync } from './connect.ts';
import { DEFAULT_DATABASE_TIMEOUT_MS } from './drivers/driver.ts';
import { DatabaseUnavailableError, DomainError, SchemaUpgradeError } from './errors.ts';
import type { MigrationConnection } from './migrations/types.ts';
import {
  APPLIED,
  appliedAsync,
  CREATE_VERSION_TABLE,
  latest,
  MIGRATIONS,
  refuseNewer,
  schemaState,
  VERSION_TABLE,
} from './schema-version.ts';
import { isAsyncDriver, parseDatabaseUrl, redact } from './url.ts';

export interface MigrateOptions {
  /** Bounds each statement and the wait for the lock, as for the data layer (default 5000 ms). */
  databaseTimeoutMs?: number;
}

export interface MigrateResult {
  /** The migrations this call applied, in order (empty if the schema was already current). */
  applied: string[];
  /** The schema's version now: the latest migration. */
  version: string;
}

/**
 * Brings the database behind `url` to this version's schema. A database that a newer version
 * has migrated is refused (SchemaVersionError), one whose rows break a new rule too
 * (SchemaUpgradeError, naming them); either way nothing is changed.
 */
export async function migrate(url: string, options: MigrateOptions = {}): Promise<MigrateResult> {
  const timeoutMs = options.databaseTimeoutMs ?? DEFAULT_DATABASE_TIMEOUT_MS;
  const where = redact(url);
  return onConnection(url, timeoutMs, async (db) => {
    // Most starts find nothing to do: that is seen without the lock, which on SQLite would
    // hold writers back, and without loading umzug (about 0.1 s).
    const before = schemaState(db.dialect, await appliedAsync(db));
    refuseNewer(db.dialect, before, where);
    if (before.pending.length === 0) return { applied: [], version: latest(db.dialect) };
    const applied = await locked(db, timeoutMs, where, async () => {
      await db.exec(CREATE_VERSION_TABLE);
      const umzug = await migrator(db);
      // Another process may have migrated while this one waited for the lock.
      const executed = (await umzug.executed()).map((m) => m.name);
      refuseNewer(db.dialect, schemaState(db.dialect, executed), where);
      return umzug.up().catch((error: unknown) => {
        throw unwrap(error);
      });
    });
    return { applied: applied.map((m) => m.name), version: latest(db.dialect) };
  });
}

async function migrator(db: MigrationConnection): Promise<Umzug<MigrationConnection>> {
  const { Umzug } = await import('umzug');
  const storage: UmzugStorage<MigrationConnection> = {
    executed: async ({ context }) => (await context.all(APPLIED)).map((row) => String(row.name)),
    logMigration: async ({ name, context }) =>
      void (await context.all(`INSERT INTO ${VERSION_TABLE} (name, applied_at) VALUES (?, ?)`, [
        name,
        new Date().toISOString(),
      ])),
    unlogMigration: async ({ name, context }) =>
      void (await context.all(`DELETE FROM ${VERSION_TABLE} WHERE name = ?`, [name])),
  };
  return new Umzug({
    migrations: MIGRATIONS[db.dialect].map(({ name, up }) => ({ name, up: ({ context }) => up(context) })),
    context: db,
    storage,
    logger: undefined,
  });
}

/** umzug wraps a migration's failure in its MigrationError: ours already say what to do, others get the migration's name. */
function unwrap(error: unknown): unknown {
  const { cause, migration } = error as { cause?: unknown; migration?: { name?: string } };
  if (cause === undefined || cause instanceof DomainError) return cause ?? error;
  return new SchemaUpgradeError(`migration ${migration?.name} failed: ${(cause as Error).message ?? String(cause)}`, {
    cause,
  });
}

// Arbitrary, fixed key: the one the app used before the version table, so an old and a new
// version starting together still take turns.
const POSTGRES_LOCK_KEY = 7_261_003;
const MYSQL_LOCK_NAME = 'users_api.schema';

/** Runs `fn` holding the database's schema lock; on SQLite and PostgreSQL, in one transaction with it. */
async function locked<T>(db: MigrationConnection, timeoutMs: number, where: string, fn: () => Promise<T>): Promise<T> {
  if (db.dialect === 'mysql') {
    // DDL commits on its own in MySQL: a session lock, not a transaction.
    const [row] = await db.all('SELECT GET_LOCK(?, ?) AS locked', [MYSQL_LOCK_NAME, Math.ceil(timeoutMs / 1000)]);
    if (Number(row?.locked) !== 1)
      throw new DatabaseUnavailableError(where, {
        cause: new Error(`another process held the schema lock (${MYSQL_LOCK_NAME}) for ${timeoutMs} ms`),
      });
    try {
      return await fn();
    } finally {
      await db.all('SELECT RELEASE_LOCK(?) AS released', [MYSQL_LOCK_NAME]);
    }
  }
  // SQLite: IMMEDIATE takes the write lock now (waiting up to the busy timeout); PostgreSQL's
  // advisory lock waits up to the statement_timeout.
  await db.exec(db.dialect === 'sqlite' ? 'BEGIN IMMEDIATE' : 'BEGIN');
  try {
    if (db.dialect === 'postgres') await db.all('SELECT pg_advisory_xact_lock(?)', [POSTGRES_LOCK_KEY]);
    const result = await fn();
    await db.exec('COMMIT');
    return result;
  } catch (error) {
    await db.exec('ROLLBACK').catch(() => {});
    throw error;
  }
}

/** Runs `use` on one connection to `url`, closed after. */
async function onConnection<T>(
  url: string,
  timeoutMs: number,
  use: (db: MigrationConnection) => Promise<T>,
): Promise<T> {
  const target = parseDatabaseUrl(url);
  if (isAsyncDriver(target)) {
    const pool = connectAsync(url, target, timeoutMs, 1);
    try {
      return await pool.withConnection((q) =>
        use({
          dialect: pool.dialect,
          all: (sql, params) => q.all(sql, params),
          exec: async (sql) => void (await q.run(sql)),
        }),
      );
    } finally {
      await pool.close();
    }
  }
  const db = connectSync(url, target, timeoutMs);
  try {
    return await use({
      dialect: db.dialect,
      all: async (sql, params) => db.all(sql, params),
      exec: async (sql) => db.exec(sql),
    });
  } finally {
    db.close();
  }
}
