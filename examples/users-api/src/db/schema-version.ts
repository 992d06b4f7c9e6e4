// Which migrations a database has had, against the ones this version knows (./migrations/):
// what the data layers check when they open a database, and what ./migrate.ts starts from. No
// migration tool here: pool workers load this with the data layer.
import type { AsyncDriver } from './drivers/async-driver.ts';
import type { Driver, Row } from './drivers/driver.ts';
import { SchemaVersionError } from './errors.ts';
import { MYSQL_MIGRATIONS } from './migrations/mysql.ts';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.ts';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.ts';
import type { Migration } from './migrations/types.ts';

export type Dialect = 'sqlite' | 'postgres' | 'mysql';

/** Each dialect's migrations, in the order they apply. */
export const MIGRATIONS: Readonly<Record<Dialect, readonly Migration[]>> = {
  sqlite: SQLITE_MIGRATIONS,
  postgres: POSTGRES_MIGRATIONS,
  mysql: MYSQL_MIGRATIONS,
};

/** The version table: one row per migration applied, with when. */
export const VERSION_TABLE = 'schema_migrations';
export const CREATE_VERSION_TABLE = `CREATE TABLE IF NOT EXISTS ${VERSION_TABLE} (
  name VARCHAR(255) NOT NULL PRIMARY KEY,
  applied_at VARCHAR(32) NOT NULL
)`;
/** A row if the version table exists. */
const VERSION_TABLE_PRESENT: Readonly<Record<Dialect, string>> = {
  sqlite: `SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = '${VERSION_TABLE}'`,
  postgres: `SELECT 1 AS present FROM pg_tables WHERE schemaname = current_schema() AND tablename = '${VERSION_TABLE}'`,
  mysql: `SELECT 1 AS present FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '${VERSION_TABLE}'`,
};
export const APPLIED = `SELECT name FROM ${VERSION_TABLE} ORDER BY name`;

/** Where a database stands: the migrations it lacks, and those it has that this version does not know. */
export interface SchemaState {
  pending: string[];
  unknown: string[];
}

export function schemaState(dialect: Dialect, applied: readonly string[]): SchemaState {
  const known = MIGRATIONS[dialect].map((m) => m.name);
  return {
    pending: known.filter((name) => !applied.includes(name)),
    unknown: applied.filter((name) => !known.includes(name)),
  };
}

/** The latest migration this version knows for `dialect`: the schema version it works with. */
export const latest = (dialect: Dialect) => MIGRATIONS[dialect].at(-1)!.name;

/** Refuses a database that a newer version of the app has migrated: this code does not know its schema. */
export function refuseNewer(dialect: Dialect, { unknown }: SchemaState, where: string): void {
  if (unknown.length === 0) return;
  throw new SchemaVersionError(
    `${where} has migration${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}, unknown to this version ` +
      `(it knows up to ${latest(dialect)}): a newer version of the app upgraded it. Run that version, or ` +
      'restore a backup taken before the upgrade',
  );
}

/** Throws unless the database has every migration this version knows, and no other. */
function requireCurrent(dialect: Dialect, applied: string[], where: string): void {
  const state = schemaState(dialect, applied);
  refuseNewer(dialect, state, where);
  if (state.pending.length > 0)
    throw new SchemaVersionError(
      `${where} lacks migration${state.pending.length > 1 ? 's' : ''} ${state.pending.join(', ')}: ` +
        'run `npm run cli -- migrate`, or start the server, which migrates first',
    );
}

const names = (rows: Row[]) => rows.map((row) => String(row.name));

/** The migrations applied to the database behind `db` (none if it has no version table yet). */
export function appliedSync(db: Driver): string[] {
  return db.all(VERSION_TABLE_PRESENT[db.dialect]).length === 0 ? [] : names(db.all(APPLIED));
}

export async function appliedAsync(db: { dialect: Dialect; all: AsyncDriver['all'] }): Promise<string[]> {
  return (await db.all(VERSION_TABLE_PRESENT[db.dialect])).length === 0 ? [] : names(await db.all(APPLIED));
}

/** For DatabaseManager: the database is at this version's schema, or a SchemaVersionError says why not. */
export function checkSchemaSync(db: Driver, where: string): void {
  requireCurrent(db.dialect, appliedSync(db), where);
}

/** For AsyncDriverManager: the same check. */
export async function checkSchema(db: AsyncDriver, where: string): Promise<void> {
  requireCurrent(db.dialect, await appliedAsync(db), where);
}
