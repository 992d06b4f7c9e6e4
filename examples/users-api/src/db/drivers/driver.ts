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
  /**
   * The rows of `sql`, one at a time, read as the caller asks for them (SQLite's statement
   * iterator, a PostgreSQL cursor fetched in batches), all from one snapshot. Nothing else may
   * run on this connection until the loop ends; ending it early (break, return, throw) closes
   * the statement or cursor.
   */
  iterate(sql: string): Generator<Row, void, undefined>;
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
 * Sets a SQLite connection to WAL mode (`setWal`). While another connection switches the same
 * new file, SQLite refuses the switch at once, busy timeout or not (SQLITE_BUSY, `isBusy`): it is
 * tried again every 5 ms for up to `timeoutMs`, after which the other has switched the file and
 * this one finds it in WAL already.
 */
export function enableWal(setWal: () => void, isBusy: (error: unknown) => boolean, timeoutMs: number): void {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return setWal();
    } catch (error) {
      if (!isBusy(error) || performance.now() >= deadline) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
}

/**
 * How long one statement may wait on the database by default: SQLite's busy timeout,
 * PostgreSQL's statement_timeout; connecting and a server that stops answering are bounded from
 * it too (see openPostgres). Callers through smartasync add a per-call timeout on top.
 */
export const DEFAULT_DATABASE_TIMEOUT_MS = 5_000;

/**
 * Through smartasync, each call also has a per-call timeout (the library's `.with({ timeout })`):
 * the database's own bounds plus this margin (see callTimeoutMs in ../store.ts). It covers the
 * time a call waits for a free worker, so a request answers 503 in bounded time even when every
 * worker is stuck on the database.
 */
export const CALL_TIMEOUT_MARGIN_MS = 2_000;

/**
 * A database integer or decimal, given as text, as a number: only when exact. Money stays within
 * 2^53 - 1 by the schema's rules; a value past it must fail loudly rather than come back rounded.
 */
export function exactNumber(text: string, database: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(
      `${database} returned ${text}, which a JavaScript number cannot hold exactly (past 2^53 - 1, or not whole)`,
    );
  }
  return value;
}

/** How long an export may wait for its reader before the database server ends it (see the README). */
export const EXPORT_READER_IDLE_MS = 60_000;
/** Rows fetched per round trip by a cursor. */
export const CURSOR_BATCH = 1_000;
