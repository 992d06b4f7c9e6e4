import { resolve } from 'node:path';

export const DEFAULT_DATABASE_URL = 'sqlite:users.db';

export type DatabaseTarget =
  | { driver: 'better-sqlite3'; path: string }
  | { driver: 'node-sqlite'; path: string }
  | { driver: 'postgres'; url: string };

const invalid = (message: string) => Object.assign(new Error(message), { code: 'INVALID_DATABASE_URL' });

/**
 * `sqlite:PATH` (better-sqlite3), `node-sqlite:PATH` (node:sqlite DatabaseSync), or
 * `postgres://...` / `postgresql://...` (pg-native, any libpq connection URI).
 * PATH is relative to the working directory; `sqlite:///abs/path.db` is absolute.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  if (/^postgres(ql)?:\/\//.test(url)) return { driver: 'postgres', url };
  const match = /^(sqlite|node-sqlite):(?:\/\/)?(.+)$/.exec(url);
  if (!match) {
    throw invalid(
      `Unsupported DATABASE_URL ${JSON.stringify(redact(url))}: use sqlite:PATH, node-sqlite:PATH or postgres://...`,
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
