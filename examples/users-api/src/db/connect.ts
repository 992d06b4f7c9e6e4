// A connection for a DATABASE_URL, through the driver it names: what the data layers and the
// migrations open. Failing to connect is a DatabaseUnavailableError naming the URL (password
// masked).
import type { AsyncDriver } from './drivers/async-driver.ts';
import { openBetterSqlite3 } from './drivers/better-sqlite3.ts';
import type { Driver } from './drivers/driver.ts';
import { openMysql } from './drivers/mysql.ts';
import { openNodeSqlite } from './drivers/node-sqlite.ts';
import { openPg } from './drivers/pg.ts';
import { openPostgres } from './drivers/postgres.ts';
import { DatabaseUnavailableError } from './errors.ts';
import { type AsyncDriverName, type DatabaseTarget, redact } from './url.ts';

type Target<D> = Extract<DatabaseTarget, { driver: D }>;

/** A synchronous driver's one connection; `timeoutMs` bounds each wait (see ManagerOptions). */
export function connectSync(
  url: string,
  target: Exclude<DatabaseTarget, Target<AsyncDriverName>>,
  timeoutMs: number,
): Driver {
  try {
    switch (target.driver) {
      case 'better-sqlite3':
        return openBetterSqlite3(target.path, timeoutMs);
      case 'node-sqlite':
        return openNodeSqlite(target.path, timeoutMs);
      case 'postgres':
        return openPostgres(target.url, timeoutMs);
    }
  } catch (cause) {
    throw new DatabaseUnavailableError(redact(url), { cause });
  }
}

/** An async driver's pool of `poolSize` connections (none opened yet). */
export function connectAsync(
  url: string,
  target: Target<AsyncDriverName>,
  timeoutMs: number,
  poolSize: number,
): AsyncDriver {
  try {
    return target.driver === 'pg'
      ? openPg(target.url, timeoutMs, poolSize)
      : openMysql(target.url, timeoutMs, poolSize);
  } catch (cause) {
    throw new DatabaseUnavailableError(redact(url), { cause });
  }
}
