// Just the surface of the untyped native drivers that this app uses.

declare module 'better-sqlite3' {
  namespace Database {
    interface Statement {
      readonly reader: boolean;
      all(...params: unknown[]): Record<string, unknown>[];
      run(...params: unknown[]): { changes: number; lastInsertRowid: number | bigint };
      /** Steps the statement one row per next(); return() resets it. */
      iterate(...params: unknown[]): IterableIterator<Record<string, unknown>>;
    }
    interface Database {
      prepare(sql: string): Statement;
      exec(sql: string): this;
      pragma(source: string, options?: { simple?: boolean }): unknown;
      close(): this;
      readonly open: boolean;
    }
    interface Options {
      timeout?: number;
      readonly?: boolean;
      fileMustExist?: boolean;
    }
  }
  const Database: new (filename: string, options?: Database.Options) => Database.Database;
  export default Database;
}

declare module 'pg-native' {
  interface TypeParsers {
    getTypeParser(oid: number, format?: string): (value: string) => unknown;
  }
  interface ErrorFields {
    sqlState?: string;
    messagePrimary?: string;
    messageDetail?: string;
    constraintName?: string;
  }
  class Client {
    constructor(config?: { types?: TypeParsers; arrayMode?: boolean });
    pq: {
      resultErrorFields(): ErrorFields | undefined;
      transactionStatus(): number;
      /** vendor/libpq: bounds each blocking query call; 0 for none. */
      setBlockingTimeout(ms: number): void;
    };
    connectSync(params?: string): void;
    querySync(text: string, values?: unknown[]): Record<string, unknown>[];
    escapeIdentifier(value: string): string;
    end(callback?: () => void): void;
  }
  export default Client;
}
