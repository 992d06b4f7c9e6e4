import Database from 'better-sqlite3';
import { DatabaseUnavailableError } from '../errors.ts';
import { type Driver, enableWal, type Param, type Row, sqliteTransaction } from './driver.ts';

/** `timeoutMs`: how long a statement waits for another connection's write lock before failing. */
export function openBetterSqlite3(path: string, timeoutMs: number): Driver {
  const db = new Database(path, { timeout: timeoutMs });
  // WAL lets readers run beside the writer; NORMAL sync is the safe pairing with WAL.
  enableWal(
    () => void db.pragma('journal_mode = WAL'),
    (error) => (error as { code?: unknown })?.code === 'SQLITE_BUSY',
    timeoutMs,
  );
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  // Still locked by another writer after the busy timeout: the database is unavailable for
  // now, as a stalled server would be.
  const unavailable = <T>(run: () => T): T => {
    try {
      return run();
    } catch (error) {
      const code = (error as { code?: unknown })?.code;
      if (typeof code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(code))
        throw new DatabaseUnavailableError(`sqlite:${path}`, { cause: error });
      throw error;
    }
  };
  const exec = (sql: string) => unavailable(() => void db.exec(sql));
  return {
    dialect: 'sqlite',
    forUpdate: '',
    all: (sql: string, params: readonly Param[] = []): Row[] =>
      unavailable(() => {
        const statement = prepare(sql);
        if (statement.reader) return statement.all(...params);
        statement.run(...params);
        return [];
      }),
    exec,
    *iterate(sql: string): Generator<Row, void, undefined> {
      // better-sqlite3 steps the statement one row per next(); return() resets it.
      yield* db.prepare(sql).iterate();
    },
    transaction: (fn) => sqliteTransaction(exec, fn),
    isUniqueViolation: (error) => (error as { code?: unknown })?.code === 'SQLITE_CONSTRAINT_UNIQUE',
    close: () => void db.close(),
  };
}
