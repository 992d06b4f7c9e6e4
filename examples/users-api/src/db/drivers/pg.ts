import { createRequire } from 'node:module';
import type pg from 'pg';
import { DatabaseUnavailableError } from '../errors.ts';
import { redact } from '../url.ts';
import type { AsyncDriver, Queryable } from './async-driver.ts';
import { CURSOR_BATCH, EXPORT_READER_IDLE_MS, type Param, type Row } from './driver.ts';
import { toPostgres, types, UNAVAILABLE_SQLSTATE } from './postgres.ts';

// What pg throws when the connection itself failed, rather than the statement.
const CONNECTION_FAILURE =
  /Connection terminated|Query read timeout|timeout exceeded when trying to connect|not queryable|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND/;

/** Whether `error` says the connection is gone (so it must not go back to the pool). */
const connectionFailed = (error: unknown) => {
  const e = error as { code?: unknown; message?: unknown };
  // Errors the server sent carry a five-character SQLSTATE; the rest come from the socket or pg.
  if (typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return /^(08|57P0[1-3])/.test(e.code);
  return CONNECTION_FAILURE.test(String(e?.message)) || CONNECTION_FAILURE.test(String(e?.code));
};
const ignore = () => {};
const unavailable = (error: unknown) => {
  const code = (error as { code?: unknown })?.code;
  return connectionFailed(error) || (typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code));
};

/**
 * An async driver over `pg` (node-postgres): a pool of `poolSize` connections with the same
 * bounds pg-native gets from `timeoutMs` ("T"): connecting, and waiting for a free pool
 * connection, within T; statement_timeout T, idle_in_transaction_session_timeout 2T; a server
 * that stops answering mid-call within T + 1 s (query_timeout; the connection is then dropped);
 * TCP keepalives.
 */
export function openPg(url: string, timeoutMs: number, poolSize: number): AsyncDriver {
  // Loaded on first use, not with the data layer (the workers never use it).
  const { Pool } = createRequire(import.meta.url)('pg') as typeof import('pg');
  const where = redact(url);
  const pool = new Pool({
    connectionString: url,
    max: poolSize,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
    idle_in_transaction_session_timeout: timeoutMs * 2,
    query_timeout: timeoutMs + 1000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    types,
    // libpq would print "relation already exists, skipping" notices; pg drops them anyway.
    options: '-c client_min_messages=warning',
  });
  // An idle connection the server dropped (a restart): the pool discards it and opens another
  // on the next call. Without a listener the error would end the process.
  pool.on('error', () => {});

  const failure = (error: unknown) =>
    unavailable(error) ? new DatabaseUnavailableError(where, { cause: error }) : error;

  /**
   * A pool connection. While it is out of the pool, a connection dropped between queries (a
   * restart, pg_terminate_backend while an export waits for its reader) is reported as an
   * 'error' event that pg-pool no longer listens to, which would end the process: it is heard
   * here, and the next query fails with "not queryable", which drops the connection.
   */
  async function acquire(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (cause) {
      throw new DatabaseUnavailableError(where, { cause });
    }
    client.on('error', ignore);
    return client;
  }

  /** Gives a connection from acquire() back to the pool; `broken`: it failed, close it instead. */
  function giveBack(client: pg.PoolClient, broken?: boolean | Error): void {
    client.off('error', ignore);
    client.release(broken);
  }

  /** A pool connection for `use`, given back after; dropped if the connection failed. */
  async function using<T>(use: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await acquire();
    let broken: unknown;
    try {
      return await use(client);
    } catch (error) {
      if (connectionFailed(error) || connectionFailed((error as { cause?: unknown })?.cause)) broken = error;
      throw error;
    } finally {
      giveBack(client, broken !== undefined);
    }
  }

  const query = async (client: pg.PoolClient, sql: string, params: readonly Param[] = []) => {
    try {
      return await client.query<Row>(params.length ? { text: toPostgres(sql), values: [...params] } : sql);
    } catch (error) {
      throw failure(error);
    }
  };
  const on = (client: pg.PoolClient): Queryable => ({
    all: async (sql, params) => (await query(client, sql, params)).rows,
    run: async (sql, params) => (await query(client, sql, params)).rowCount ?? 0,
    insert: async (sql, params) => Number((await query(client, `${sql} RETURNING id`, params)).rows[0]!.id),
  });

  return {
    dialect: 'postgres',
    textType: 'TEXT',
    all: (sql, params) => using((client) => on(client).all(sql, params)),
    run: (sql, params) => using((client) => on(client).run(sql, params)),
    insert: (sql, params) => using((client) => on(client).insert(sql, params)),
    transaction: <T>(fn: (tx: Queryable) => Promise<T>) =>
      using(async (client) => {
        await query(client, 'BEGIN');
        let result: T;
        try {
          result = await fn(on(client));
        } catch (error) {
          // A lost connection took its transaction with it; `using` drops it.
          if (!connectionFailed((error as { cause?: unknown })?.cause ?? error)) await query(client, 'ROLLBACK');
          throw error;
        }
        await query(client, 'COMMIT');
        return result;
      }),
    // As with pg-native: a cursor in a read-only transaction, fetched in batches.
    async *iterate(sql: string): AsyncGenerator<Row, void, undefined> {
      const client = await acquire();
      let open = false;
      let broken: Error | undefined;
      try {
        await query(client, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        open = true;
        // The reader may pause for longer than a transaction may usually sit idle.
        await query(client, `SET LOCAL idle_in_transaction_session_timeout = ${EXPORT_READER_IDLE_MS}`);
        await query(client, `DECLARE export_rows NO SCROLL CURSOR FOR ${sql}`);
        for (;;) {
          const { rows } = await query(client, `FETCH FORWARD ${CURSOR_BATCH} FROM export_rows`);
          if (rows.length === 0) break;
          yield* rows;
        }
        open = false;
        await query(client, 'COMMIT');
      } catch (error) {
        if (connectionFailed((error as { cause?: unknown })?.cause ?? error)) broken = error as Error;
        throw error;
      } finally {
        // Ended early: the cursor goes with the transaction.
        if (open && !broken) await query(client, 'ROLLBACK').catch((error: Error) => (broken = error));
        giveBack(client, broken);
      }
    },
    withConnection: (fn) => using((client) => fn(on(client))),
    isUniqueViolation: (error) => (error as { code?: unknown })?.code === '23505',
    close: () => pool.end(),
  };
}
