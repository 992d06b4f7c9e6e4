import PgClient from 'pg-native';
import { DatabaseUnavailableError } from '../errors.ts';
import { redact } from '../url.ts';
import type { Driver, Param, Row } from './driver.ts';

// int2, int4, int8, numeric, float4, float8: our values (ids, balances in minor units, counts)
// fit in a double, and numbers are what the API returns. Everything else stays text.
const NUMERIC_OIDS = new Set([20, 21, 23, 700, 701, 1700]);
const BOOL_OID = 16;
const types = {
  getTypeParser(oid: number): (value: string) => unknown {
    if (NUMERIC_OIDS.has(oid)) return Number;
    if (oid === BOOL_OID) return (value) => value === 't';
    return (value) => value;
  },
};

const placeholders = new Map<string, string>();
/** `?` → `$1`, `$2`, ...: our SQL never has a `?` inside a literal. */
function toPostgres(sql: string): string {
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

function connect(url: string): PgClient {
  const client = new PgClient({ types });
  try {
    client.connectSync(url);
    // libpq prints notices to stderr; "relation already exists, skipping" is not news.
    client.querySync('SET client_min_messages TO warning');
    return client;
  } catch (error) {
    client.end();
    throw error;
  }
}

export function openPostgres(url: string): Driver {
  let client = connect(url);
  const broken = () => client.pq.transactionStatus() === PQTRANS_UNKNOWN;
  const query = (sql: string, params?: unknown[]): Row[] => {
    if (broken()) {
      // Lost since the last call: start afresh, so the app recovers once the server is back.
      client.end();
      try {
        client = connect(url);
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
    isUniqueViolation: (error) => (error as { code?: unknown })?.code === '23505',
    close: () => client.end(),
  };
}
