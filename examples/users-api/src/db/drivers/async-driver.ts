import type { Param, Row } from './driver.ts';

/** What a data-layer method asks of a connection: reads, writes, inserts. `?` placeholders. */
export interface Queryable {
  all(sql: string, params?: readonly Param[]): Promise<Row[]>;
  /** Runs a write; resolves with the number of rows it matched. */
  run(sql: string, params?: readonly Param[]): Promise<number>;
  /** Runs an INSERT into a table with an `id` key; resolves with the new row's id. */
  insert(sql: string, params?: readonly Param[]): Promise<number>;
}

/**
 * The interface of the async drivers (mysql2, pg): every method returns a promise, and the
 * driver holds a pool of connections, so calls from many requests run at once on the event
 * loop. `transaction` and `iterate` take a connection of their own for their whole life.
 */
export interface AsyncDriver extends Queryable {
  readonly dialect: 'postgres' | 'mysql';
  /** The type to CAST a number to for exact text: TEXT on PostgreSQL, CHAR on MySQL and MariaDB. */
  readonly textType: string;
  /** Runs `fn` in a write transaction on one connection: committed if it resolves, rolled back if it rejects. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /**
   * The rows of `sql`, one at a time, read from the database in batches as the caller asks for
   * them, all from one snapshot. Ending the loop early (break, return, throw) stops the query
   * and gives the connection back.
   */
  iterate(sql: string): AsyncGenerator<Row, void, undefined>;
  /**
   * Runs `fn` on one connection of the pool, outside any transaction, for what must share a
   * session (a session lock); the connection goes back to the pool after.
   */
  withConnection<T>(fn: (q: Queryable) => Promise<T>): Promise<T>;
  isUniqueViolation(error: unknown): boolean;
  /** Waits for calls in flight, then closes every connection. */
  close(): Promise<void>;
}

/** Resolves with `promise`, or rejects with `onTimeout()` after `ms`; `late` gets a value that came too late. */
export function within<T>(
  promise: Promise<T>,
  ms: number,
  onTimeout: () => Error,
  late?: (value: T) => void,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let expired = false;
  return Promise.race([
    promise.then(
      (value) => {
        if (expired) late?.(value);
        return value;
      },
      (error: unknown) => {
        throw error;
      },
    ),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        expired = true;
        reject(onTimeout());
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
