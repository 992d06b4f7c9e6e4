// The manual build's per-worker connection, the way it is usually hand-written: a module
// singleton opened on first use in each piscina worker, configured through workerData.
import { workerData } from 'piscina';
import { DatabaseManager } from '../../../../examples/users-api/src/db/manager.ts';

let db: DatabaseManager | undefined;

export function connection(): DatabaseManager {
  const { databaseUrl, reportCost } = workerData as { databaseUrl: string; reportCost?: number };
  db ??= new DatabaseManager(databaseUrl, { reportCost });
  return db;
}
