import type { Param, Row } from '../drivers/driver.ts';

/** The one connection a migration runs on, whatever the driver: reads, and statements without results. */
export interface MigrationConnection {
  readonly dialect: 'sqlite' | 'postgres' | 'mysql';
  all(sql: string, params?: readonly Param[]): Promise<Row[]>;
  /** Runs SQL without parameters: on SQLite and PostgreSQL possibly several statements, on MySQL one. */
  exec(sql: string): Promise<void>;
}

/**
 * One step of a dialect's schema, applied once, in name order, and recorded in the version
 * table. A migration that has been released is never edited: a change is a new migration.
 */
export interface Migration {
  readonly name: string;
  up(db: MigrationConnection): Promise<void>;
}
