// SQL on a test database with the bare driver, as another program would run it: to look at what
// the app stored, or to set up what it must cope with.
import Database from 'better-sqlite3';
import type { Connection } from 'mysql2/promise';
import mysql from 'mysql2/promise';
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
    case 'sqlite': {
      const db = new Database(url.slice(url.indexOf(':') + 1));
      try {
        const statement = db.prepare(sql);
        if (statement.reader) return statement.all();
        db.exec(sql);
        return [];
      } catch (error) {
        // Several statements: better-sqlite3 prepares one at a time.
        if (!/one statement/.test((error as Error).message)) throw error;
        db.exec(sql);
        return [];
      } finally {
        db.close();
      }
    }
  }
}
