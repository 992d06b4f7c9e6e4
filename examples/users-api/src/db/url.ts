import { resolve } from 'node:path';

export const DEFAULT_DATABASE_URL = 'sqlite:users.db';

export type DatabaseTarget =
  | { driver: 'better-sqlite3'; path: string }
  | { driver: 'node-sqlite'; path: string }
  | { driver: 'postgres'; url: string }
  | { driver: 'pg'; url: string }
  | { driver: 'mysql2'; url: string };

/** The drivers whose calls block: DatabaseManager (./manager.ts) runs over them. */
export type SyncDriverName = 'better-sqlite3' | 'node-sqlite' | 'postgres';
/** The drivers whose calls return promises: AsyncDriverManager (./async-manager.ts) runs over them. */
export type AsyncDriverName = 'pg' | 'mysql2';

export const isAsyncDriver = (target: DatabaseTarget): target is Extract<DatabaseTarget, { driver: AsyncDriverName }> =>
  target.driver === 'pg' || target.driver === 'mysql2';

const invalid = (message: string) => Object.assign(new Error(message), { code: 'INVALID_DATABASE_URL' });

/**
 * `sqlite:PATH` (better-sqlite3), `node-sqlite:PATH` (node:sqlite DatabaseSync),
 * `postgres://...` / `postgresql://...` (pg-native, any libpq connection URI),
 * `postgres+pg://...` (the same database through the async `pg` driver, as SQLAlchemy names a
 * driver), or `mysql://...` / `mariadb://...` (mysql2, async).
 * PATH is relative to the working directory; `sqlite:///abs/path.db` is absolute.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//.test(url)) return { driver: 'postgres', url };
  const pg = /^postgres(ql)?\+pg:\/\//.exec(url);
  if (pg) return { driver: 'pg', url: `postgresql://${url.slice(pg[0].length)}` };
  const mysql = /^(mysql|mariadb):\/\//.exec(url);
  if (mysql) return { driver: 'mysql2', url: `mysql://${url.slice(mysql[0].length)}` };
  const match = /^(sqlite|node-sqlite):(?:\/\/)?(.+)$/.exec(url);
  if (!match) {
    throw invalid(
      `Unsupported DATABASE_URL ${JSON.stringify(redact(url))}: use sqlite:PATH, node-sqlite:PATH, postgres://..., postgres+pg://... or mysql://...`,
    );
  }
  const [, scheme, path] = match as unknown as [string, string, string];
  // Every worker opens its own connection: an in-memory database would be a different,
  // empty database in each of them.
  if (path === ':memory:' || path.startsWith('file::memory:')) {
    throw invalid('In-memory SQLite cannot be shared between worker connections: give a file path');
  }
  return { driver: scheme === 'sqlite' ? 'better-sqlite3' : 'node-sqlite', path: resolve(path) };
}

/** The URL with its password masked, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, '$1***@');
}
