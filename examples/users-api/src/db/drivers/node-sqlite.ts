import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { DatabaseUnavailableError } from '../errors.ts';
import { type Driver, enableWal, type Param, type Row, sqliteTransaction } from './driver.ts';

const SQLITE_CONSTRAINT_UNIQUE = 2067;
const SQLITE_BUSY = 5;
const SQLITE_LOCKED = 6;

/** `timeoutMs`: how long a statement waits for another connection's write lock before failing. */
export function openNodeSqlite(path: string, timeoutMs: number): Driver {
  const db = new DatabaseSync(path, { timeout: timeoutMs, enableForeignKeyConstraints: true });
  // WAL lets readers run beside the writer; NORMAL sync is the safe pairing with WAL.
  enableWal(
    () => db.exec('PRAGMA journal_mode = WAL'),
    (error) => (Number((error as { errcode?: unknown })?.errcode) & 0xff) === SQLITE_BUSY,
    timeoutMs,
  );
  db.exec('PRAGMA synchronous = NORMAL');
  const statements = new Map<string, StatementSync>();
  const unavailable = <T>(run: () => T): T => {
    try {
      return run();
    } catch (error) {
      const primary = Number((error as { errcode?: unknown })?.errcode) & 0xff;
      if (primary === SQLITE_BUSY || primary === SQLITE_LOCKED)
        throw new DatabaseUnavailableError(`node-sqlite:${path}`, { cause: error });
      throw error;
    }
  };
  const exec = (sql: string) => unavailable(() => db.exec(sql));
  return {
    dialect: 'sqlite',
    forUpdate: '',
    all(sql: string, params: readonly Param[] = []): Row[] {
      let statement = statements.get(sql);
      if (!statement) statements.set(sql, (statement = db.prepare(sql)));
      // Rows come back with a null prototype; callers map them to plain objects.
      return unavailable(() => statement.all(...params) as Row[]);
    },
    exec,
    *iterate(sql: string): Generator<Row, void, undefined> {
      yield* db.prepare(sql).iterate() as IterableIterator<Row>;
    },
    transaction: (fn) => sqliteTransaction(exec, fn),
    isUniqueViolation: (error) => (error as { errcode?: unknown })?.errcode === SQLITE_CONSTRAINT_UNIQUE,
    close: () => db.close(),
  };
}
