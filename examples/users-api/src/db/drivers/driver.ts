export type Param = string | number | null;
export type Row = Record<string, unknown>;

/**
 * The one interface the data layer talks to. Every method is synchronous: the drivers are
 * the legacy blocking kind, and offloading is smartasync's job, not theirs.
 * SQL uses `?` placeholders whatever the dialect.
 */
export interface Driver {
  readonly dialect: 'sqlite' | 'postgres';
  /** Row-locking suffix for SELECTs inside a write transaction ('' where the transaction already locks). */
  readonly forUpdate: string;
  all(sql: string, params?: readonly Param[]): Row[];
  /** Runs unparameterised, possibly multi-statement SQL (schema). */
  exec(sql: string): void;
  /** Runs `fn` in a write transaction: committed if it returns, rolled back if it throws. */
  transaction<T>(fn: () => T): T;
  isUniqueViolation(error: unknown): boolean;
  close(): void;
}

/** SQLite transactions for both SQLite drivers. */
export function sqliteTransaction<T>(exec: (sql: string) => void, fn: () => T): T {
  // IMMEDIATE takes the write lock up front, so the busy timeout applies. A deferred
  // transaction that reads and then writes can fail with SQLITE_BUSY at once when another
  // connection wrote in between, whatever the timeout.
  exec('BEGIN IMMEDIATE');
  try {
    const result = fn();
    exec('COMMIT');
    return result;
  } catch (error) {
    exec('ROLLBACK');
    throw error;
  }
}

/**
 * How long one statement may wait on the database by default: SQLite's busy timeout,
 * PostgreSQL's statement_timeout; connecting and a server that stops answering are bounded from
 * it too (see openPostgres). Callers through smartasync add a per-call timeout on top.
 */
export const DEFAULT_DATABASE_TIMEOUT_MS = 5_000;
