import Database from 'better-sqlite3';
import { type Driver, type Param, type Row, SQLITE_BUSY_TIMEOUT_MS, sqliteTransaction } from './driver.ts';

export function openBetterSqlite3(path: string): Driver {
  const db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS });
  // WAL lets readers run beside the writer; NORMAL sync is the safe pairing with WAL.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
  const exec = (sql: string) => void db.exec(sql);
  return {
    dialect: 'sqlite',
    forUpdate: '',
    all(sql: string, params: readonly Param[] = []): Row[] {
      const statement = prepare(sql);
      if (statement.reader) return statement.all(...params);
      statement.run(...params);
      return [];
    },
    exec,
    transaction: (fn) => sqliteTransaction(exec, fn),
    isUniqueViolation: (error) => (error as { code?: unknown })?.code === 'SQLITE_CONSTRAINT_UNIQUE',
    close: () => void db.close(),
  };
}
