import PgClient from 'pg-native';
import { DatabaseUnavailableError } from '../errors.ts';
import { redact } from '../url.ts';
import { CURSOR_BATCH, type Driver, exactNumber, EXPORT_READER_IDLE_MS, type Param, type Row } from './driver.ts';

// int2, int4, float4, float8 become numbers. int8 (bigint: balances, amounts, counts) and
// numeric (sums) become numbers only when exact: the schema keeps money within 2^53 - 1, and a
// value past it must fail loudly rather than come back rounded. Everything else stays text.
const NUMBER_OIDS = new Set([21, 23, 700, 701]);
const EXACT_OIDS = new Set([20, 1700]);
const BOOL_OID = 16;
/** How PostgreSQL values become JavaScript ones, for pg-native and pg alike. */
export const types = {
  getTypeParser(oid: number): (value: string) => unknown {
    if (NUMBER_OIDS.has(oid)) return Number;
    if (EXACT_OIDS.has(oid)) return (text) => exactNumber(text, 'PostgreSQL');
    if (oid === BOOL_OID) return (value) => value === 't';
    return (value) => value;
  },
};

const placeholders = new Map<string, string>();
/** `?` → `$1`, `$2`, ...: our SQL never has a `?` inside a literal. */
export function toPostgres(sql: string): string {
  let converted = placeholders.get(sql);
  if (converted === undefined) {
    let n = 0;
    converted = sql.replace(/\?/g, () => `$${++n}`);
    placeholders.set(sql, converted);
  }
  return converted;
}

// PQtransactionStatus() once libpq knows the connection is broken (server restart, failover).
const PQTRANS_UNKNOWN = 4;

/**
 * SQLSTATEs that mean "not now" rather than "wrong": connection exceptions (08), insufficient
 * resources (53), operator intervention (57: statement_timeout, shutdown), lock not available.
 */
export const UNAVAILABLE_SQLSTATE = /^(08|53|57)|^55P03$/;

/**
 * The URL with libpq's own timeouts added, unless the URL sets them: connect_timeout (libpq
 * wants whole seconds, at least 2), TCP keepalives so that a connection to a host that vanished
 * is noticed while idle, and tcp_user_timeout so that data the peer never acknowledges fails the
 * connection. A server that is frozen but whose kernel still acknowledges escapes all of these:
 * the blocking timeout (setBlockingTimeout, vendor/libpq) covers that case.
 */
export function withTimeouts(url: string, timeoutMs: number): string {
  const settings: Record<string, string> = {
    connect_timeout: String(Math.max(2, Math.ceil(timeoutMs / 1000))),
    keepalives: '1',
    keepalives_idle: '10',
    keepalives_interval: '5',
    keepalives_count: '3',
    tcp_user_timeout: String(timeoutMs + 1000),
  };
  const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
  const given = new Set(query.split('&').map((pair) => decodeURIComponent(pair.split('=')[0]!)));
  const added = Object.entries(settings).filter(([key]) => !given.has(key));
  if (added.length === 0) return url;
  return `${url}${url.includes('?') ? (url.endsWith('?') || url.endsWith('&') ? '' : '&') : '?'}${added.map(([k, v]) => `${k}=${v}`).join('&')}`;
}

function connect(conninfo: string, timeoutMs: number): PgClient {
  const client = new PgClient({ types });
  try {
    client.connectSync(conninfo);
    // A server that stops answering mid-query (frozen, hung host) would otherwise hold this
    // thread forever: past the statement_timeout plus a second, the call gives up and the
    // connection is dropped (the next call reconnects).
    client.pq.setBlockingTimeout(timeoutMs + 1000);
    // libpq prints notices to stderr; "relation already exists, skipping" is not news.
    // statement_timeout bounds a statement the server is slow to run (locks, load) with a clean
    // error that keeps the connection; a transaction left open by a thread that died is ended.
    client.querySync(
      `SET client_min_messages TO warning; SET statement_timeout = ${timeoutMs}; SET idle_in_transaction_session_timeout = ${timeoutMs * 2}`,
    );
    return client;
  } catch (error) {
    client.end();
    throw error;
  }
}

/** `timeoutMs`: the statement_timeout; connecting and a silent server are bounded from it (see withTimeouts). */
export function openPostgres(url: string, timeoutMs: number): Driver {
  const conninfo = withTimeouts(url, timeoutMs);
  let client = connect(conninfo, timeoutMs);
  const broken = () => client.pq.transactionStatus() === PQTRANS_UNKNOWN;
  const query = (sql: string, params?: unknown[]): Row[] => {
    if (broken()) {
      // Lost since the last call: start afresh, so the app recovers once the server is back.
      client.end();
      try {
        client = connect(conninfo, timeoutMs);
      } catch (cause) {
        throw new DatabaseUnavailableError(redact(url), { cause });
      }
    }
    try {
      return client.querySync(sql, params);
    } catch (error) {
      // Whether the statement ran is unknowable here, so it is not retried: the caller hears
      // the database is unavailable, and the next call reconnects.
      if (broken()) throw new DatabaseUnavailableError(redact(url), { cause: error });
      // pg-native throws a bare Error; the SQLSTATE is still on the connection's last result.
      const fields = client.pq.resultErrorFields();
      if (fields?.sqlState) Object.assign(error as Error, { code: fields.sqlState });
      if (fields?.sqlState && UNAVAILABLE_SQLSTATE.test(fields.sqlState))
        throw new DatabaseUnavailableError(redact(url), { cause: error });
      throw error;
    }
  };
  const exec = (sql: string) => void query(sql);
  return {
    dialect: 'postgres',
    forUpdate: ' FOR UPDATE',
    all: (sql: string, params: readonly Param[] = []) => query(toPostgres(sql), [...params]),
    exec,
    transaction<T>(fn: () => T): T {
      exec('BEGIN');
      try {
        const result = fn();
        exec('COMMIT');
        return result;
      } catch (error) {
        // A lost connection took its transaction with it.
        if (!broken()) exec('ROLLBACK');
        throw error;
      }
    },
    // pg-native has no cursor API: DECLARE and FETCH in batches, in a read-only transaction
    // whose snapshot the whole export reads from.
    *iterate(sql: string): Generator<Row, void, undefined> {
      exec('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      let open = true;
      try {
        // The reader may pause for longer than a transaction may usually sit idle.
        exec(`SET LOCAL idle_in_transaction_session_timeout = ${EXPORT_READER_IDLE_MS}`);
        exec(`DECLARE export_rows NO SCROLL CURSOR FOR ${sql}`);
        for (;;) {
          const rows = query(`FETCH FORWARD ${CURSOR_BATCH} FROM export_rows`);
          if (rows.length === 0) break;
          yield* rows;
        }
        open = false;
        exec('COMMIT');
      } finally {
        // Ended early: the cursor goes with the transaction.
        if (open && !broken()) exec('ROLLBACK');
      }
    },
    isUniqueViolation: (error) => (error as { code?: unknown })?.code === '23505',
    close: () => client.end(),
  };
}
