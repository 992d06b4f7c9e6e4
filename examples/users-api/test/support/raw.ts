// SQL on a test database with the bare driver, as another program would run it: to look at what
// the app stored, or to set up what it must cope with.
import Database from 'better-sqlite3';
import type { Connection } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { DatabaseSync } from 'node:sqlite';
import PgClient from 'pg-native';
import { type DriverName, dialectOf } from './databases.ts';

export type Row = Record<string, unknown>;

/** Runs `sql` (several statements allowed) on the database behind `url`; the rows of the last one. */
export async function rawQuery(driver: DriverName, url: string, sql: string): Promise<Row[]> {
  switch (dialectOf(driver)) {
    case 'postgres': {
      const client = new PgClient();
      client.connectSync(url.replace(/^postgres(ql)?\+pg:/, 'postgresql:'));
      try {
        return client.querySync(sql);
      } finally {
        client.end();
      }
    }
    case 'mysql': {
      const connection: Connection = await mysql.createConnection({
        uri: url,
        multipleStatements: true,
        supportBigNumbers: true,
        bigNumberStrings: true,
      });
      try {
        const [result] = await connection.query(sql);
        const results = Array.isArray(result) && Array.isArray(result[0]) ? result.at(-1) : result;
        return Array.isArray(results) ? (results as Row[]) : [];
      } finally {
        await connection.end();
      }
    }
    case 'sqlite':
      return withSqlite(driver, url, (db) => db.query(sql));
  }
}

/** The few calls the tests make on a SQLite file, the same through either library. */
export interface SqliteHandle {
  /** Runs `sql` (several statements allowed); the rows of a single read. */
  query(sql: string): Row[];
  /** A PRAGMA's rows. */
  pragma(pragma: string): Row[];
}

/**
 * Opens the file behind `url` with the library the app uses for it: better-sqlite3 for
 * `sqlite:`, node:sqlite for `node-sqlite:`. Never the other one: each bundles its own SQLite,
 * and two copies of SQLite in one process release each other's POSIX locks on a file, which
 * SQLite's documentation lists as a way to corrupt a database (and it shows: "database disk
 * image is malformed").
 */
export function withSqlite<T>(driver: DriverName, url: string, use: (db: SqliteHandle) => T): T {
  const path = url.slice(url.indexOf(':') + 1);
  if (driver === 'node-sqlite') {
    const db = new DatabaseSync(path);
    try {
      return use({
        query(sql) {
          const statement = db.prepare(sql);
          // prepare() takes the first statement and quietly leaves the rest: run several with exec().
          if (statement.sourceSQL.trim().replace(/;$/, '') !== sql.trim().replace(/;$/, '')) {
            db.exec(sql);
            return [];
          }
          // Plain objects, as better-sqlite3 gives (node:sqlite's rows have a null prototype).
          if (statement.columns().length > 0) return statement.all().map((row) => ({ ...row }));
          statement.run();
          return [];
        },
        pragma: (pragma) =>
          db
            .prepare(`PRAGMA ${pragma}`)
            .all()
            .map((row) => ({ ...row })),
      });
    } finally {
      db.close();
    }
  }
  const db = new Database(path);
  try {
    return use({
      query(sql) {
        try {
          const statement = db.prepare(sql);
          if (statement.reader) return statement.all() as Row[];
          statement.run();
          return [];
        } catch (error) {
          // Several statements: better-sqlite3 prepares one at a time.
          if (!/one statement/.test((error as Error).message)) throw error;
          db.exec(sql);
          return [];
        }
      },
      pragma: (pragma) => db.pragma(pragma) as Row[],
    });
  } finally {
    db.close();
  }
}

/**
 * Fills `users` with `rows` users in one statement, the way a bulk load would: names are `name`
 * followed by the row's number, emails `user<number>@<domain>`.
 */
export async function seedUsers(
  driver: DriverName,
  url: string,
  rows: number,
  name: string,
  domain: string,
): Promise<void> {
  const sql = {
    sqlite: `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
      INSERT INTO users (name, email) SELECT '${name}' || i, 'user' || i || '@${domain}' FROM n`,
    postgres: `INSERT INTO users (name, email) SELECT '${name}' || i, 'user' || i || '@${domain}' FROM generate_series(1, ${rows}) AS i`,
    mysql: `INSERT INTO users (name, email) SELECT CONCAT('${name}', seq), CONCAT('user', seq, '@${domain}') FROM seq_1_to_${rows}`,
  }[dialectOf(driver)];
  await rawQuery(driver, url, sql);
}
