import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { type Driver, type Param, type Row, SQLITE_BUSY_TIMEOUT_MS, sqliteTransaction } from './driver.ts';

const SQLITE_CONSTRAINT_UNIQUE = 2067;

export function openNodeSqlite(path: string): Driver {
  const db = new DatabaseSync(path, { timeout: SQLITE_BUSY_TIMEOUT_MS, enableForeignKeyConstraints: true });
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  const statements = new Map<string, StatementSync>();
  const exec = (sql: string) => db.exec(sql);
  return {
    dialect: 'sqlite',
    forUpdate: '',
    all(sql: string, params: readonly Param[] = []): Row[] {
      let statement = statements.get(sql);
      if (!statement) statements.set(sql, (statement = db.prepare(sql)));
      // Rows come back with a null prototype; callers map them to plain objects.
      return statement.all(...params) as Row[];
    },
    exec,
    transaction: (fn) => sqliteTransaction(exec, fn),
    isUniqueViolation: (error) => (error as { errcode?: unknown })?.errcode === SQLITE_CONSTRAINT_UNIQUE,
    close: () => db.close(),
  };
}
