import { createRequire } from 'node:module';
import type { Connection as CoreConnection } from 'mysql2';
import type { Pool, PoolConnection, ResultSetHeader, TypeCast } from 'mysql2/promise';
import { DatabaseUnavailableError } from '../errors.ts';
import { redact } from '../url.ts';
import { type AsyncDriver, type Queryable, within } from './async-driver.ts';
import { CURSOR_BATCH, exactNumber, EXPORT_READER_IDLE_MS, type Param, type Row } from './driver.ts';

/**
 * BIGINT (balances, amounts, counts) and DECIMAL (sums) come back as text and become numbers
 * only when exact: the schema keeps money within 2^53 - 1, and a value past it must fail
 * loudly rather than come back rounded (the same rule as on PostgreSQL).
 */
const typeCast: TypeCast = (field, next) => {
  const value = next();
  if ((field.type === 'LONGLONG' || field.type === 'NEWDECIMAL') && typeof value === 'string')
    return exactNumber(value, 'MariaDB');
  return value;
};

/**
 * Error codes that mean "not now" rather than "wrong": the server is gone or refused us, a
 * lock or statement waited past its bound, the server is shutting down or has no room.
 */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_QUERY_INTERRUPTED',
  'ER_STATEMENT_TIMEOUT',
  'ER_CONNECTION_KILLED',
]);
// MariaDB's own codes that mysql2 has no name for: 1969 max_statement_time exceeded, 4031 the
// client was idle too long and was disconnected.
const UNAVAILABLE_ERRNOS = new Set([1969, 4031]);

const unavailable = (error: unknown) => {
  const e = error as { code?: unknown; errno?: unknown; fatal?: unknown };
  return (
    e?.fatal === true ||
    (typeof e?.code === 'string' && UNAVAILABLE_CODES.has(e.code)) ||
    (typeof e?.errno === 'number' && UNAVAILABLE_ERRNOS.has(e.errno))
  );
};

/**
 * An async driver over mysql2/promise, for MariaDB and MySQL: a pool of `poolSize`
 * connections, each set up with strict SQL, READ COMMITTED (as PostgreSQL), and the bounds
 * derived from `timeoutMs` ("T"): connecting within T; a statement within T (max_statement_time,
 * MariaDB) and a row lock within T rounded up to seconds (innodb_lock_wait_timeout); a server
 * that stops answering mid-call within T + 1 s (the connection is then dropped); waiting for a
 * free pool connection within T.
 */
export function openMysql(url: string, timeoutMs: number, poolSize: number): AsyncDriver {
  // Loaded on first use, not with the data layer: mysql2 takes about 160 ms to load, which
  // the workers and the SQLite and PostgreSQL users would pay for nothing.
  const mysql = createRequire(import.meta.url)('mysql2/promise') as typeof import('mysql2/promise');
  const where = redact(url);
  const pool: Pool = mysql.createPool({
    uri: url,
    connectionLimit: poolSize,
    maxIdle: poolSize,
    connectTimeout: timeoutMs,
    enableKeepAlive: true,
    keepAliveInitialDelay: 10_000,
    supportBigNumbers: true,
    bigNumberStrings: true,
    dateStrings: true,
    charset: 'utf8mb4_unicode_ci',
    typeCast,
  });
  const lockWaitSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
  const setup = [
    "SET SESSION sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'",
    'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
    `SET SESSION innodb_lock_wait_timeout = ${lockWaitSeconds}`,
    // MariaDB's statement bound; MySQL has max_execution_time (SELECTs only) instead.
    `SET SESSION max_statement_time = ${timeoutMs / 1000}`,
  ];
  const prepared = new WeakSet<object>();
  const silentTimeout = timeoutMs + 1000;

  /** A pool connection, set up on first use; within T, or the database is unavailable. */
  async function acquire(): Promise<PoolConnection> {
    let conn: PoolConnection;
    try {
      conn = await within(
        pool.getConnection(),
        timeoutMs,
        () => new Error(`no free connection within ${timeoutMs} ms (pool of ${poolSize})`),
        (late) => late.release(),
      );
    } catch (cause) {
      throw new DatabaseUnavailableError(where, { cause });
    }
    const raw = conn.connection as unknown as object;
    if (!prepared.has(raw)) {
      try {
        for (const sql of setup) await plain(conn, sql);
        prepared.add(raw);
      } catch (error) {
        conn.destroy();
        throw error;
      }
    }
    return conn;
  }

  /** The error a caller sees: DatabaseUnavailableError for "not now", the driver's own otherwise. */
  function failure(error: unknown): unknown {
    return unavailable(error) ? new DatabaseUnavailableError(where, { cause: error }) : error;
  }

  /** Runs one statement on `conn`; a connection that failed as a whole (lost, timed out) is dropped. */
  async function execute<T>(conn: PoolConnection, sql: string, params: readonly Param[]): Promise<T> {
    try {
      const [result] = await conn.execute({ sql, values: [...params], timeout: silentTimeout });
      return result as T;
    } catch (error) {
      if (unavailable(error)) conn.destroy();
      throw failure(error);
    }
  }

  /** A statement without parameters (transaction control, session settings), not prepared. */
  async function plain(conn: PoolConnection, sql: string): Promise<void> {
    try {
      await conn.query({ sql, timeout: silentTimeout });
    } catch (error) {
      if (unavailable(error)) conn.destroy();
      throw failure(error);
    }
  }

  const on = (conn: PoolConnection): Queryable => ({
    all: (sql, params = []) => execute<Row[]>(conn, sql, params),
    run: async (sql, params = []) => (await execute<ResultSetHeader>(conn, sql, params)).affectedRows,
    insert: async (sql, params = []) => (await execute<ResultSetHeader>(conn, sql, params)).insertId,
  });
  /** `use` on a pool connection, given back after (mysql2 knows not to take back one that was dropped). */
  async function using<T>(use: (q: Queryable) => Promise<T>): Promise<T> {
    const conn = await acquire();
    try {
      return await use(on(conn));
    } finally {
      conn.release();
    }
  }

  return {
    dialect: 'mysql',
    textType: 'CHAR',
    all: (sql, params) => using((q) => q.all(sql, params)),
    run: (sql, params) => using((q) => q.run(sql, params)),
    insert: (sql, params) => using((q) => q.insert(sql, params)),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const conn = await acquire();
      try {
        await plain(conn, 'START TRANSACTION');
        let result: T;
        try {
          result = await fn(on(conn));
        } catch (error) {
          // A connection that was dropped took its transaction with it.
          await plain(conn, 'ROLLBACK').catch(() => conn.destroy());
          throw error;
        }
        await plain(conn, 'COMMIT');
        return result;
      } finally {
        conn.release(); // a dropped connection is not given back (mysql2 knows)
      }
    },
    // mysql2 streams a result row by row and pauses the socket when the reader falls behind:
    // the server then waits (up to net_write_timeout) instead of the rows piling up here.
    async *iterate(sql: string): AsyncGenerator<Row, void, undefined> {
      const conn = await acquire();
      let finished = false;
      try {
        // The reader may pause: give it as long as the PostgreSQL drivers give an export; and
        // max_statement_time would end an export that takes longer than one statement may.
        await plain(
          conn,
          `SET SESSION net_write_timeout = ${Math.ceil(EXPORT_READER_IDLE_MS / 1000)}, max_statement_time = 0`,
        );
        const core = conn.connection as unknown as CoreConnection;
        const rows = core.query(sql).stream({ highWaterMark: CURSOR_BATCH });
        // A connection lost mid-result (the server killed the session, a failover) errors the
        // connection but neither ends nor errors mysql2's row stream: the reader would wait forever.
        const lost = (error?: Error) =>
          rows.destroy(
            error ?? Object.assign(new Error('Connection lost: the server closed the connection'), { fatal: true }),
          );
        core.once('error', lost);
        core.once('end', lost);
        try {
          for await (const row of rows) yield row as Row;
        } catch (error) {
          throw failure(error);
        } finally {
          core.off('error', lost);
          core.off('end', lost);
        }
        finished = true;
      } finally {
        // A result read part-way cannot be abandoned on its connection: drop the connection.
        if (finished) {
          await plain(conn, `SET SESSION net_write_timeout = DEFAULT, max_statement_time = ${timeoutMs / 1000}`).then(
            () => conn.release(),
            () => conn.destroy(),
          );
        } else conn.destroy();
      }
    },
    withConnection: (fn) => using(fn),
    isUniqueViolation: (error) => (error as { code?: unknown })?.code === 'ER_DUP_ENTRY',
    close: () => pool.end(),
  };
}
