// The synchronous code that ReportService wraps (not shown in the README).
import Database from 'better-sqlite3';
import { threadId } from 'node:worker_threads';

export interface Report {
  month: number;
  users: number;
  threadId: number;
}

export function buildReportSync(dbFile: string, month: number): Report {
  const db = new Database(dbFile);
  try {
    db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)');
    const { n } = db.prepare('SELECT count(*) AS n FROM users').get() as { n: number };
    return { month, users: n, threadId };
  } finally {
    db.close();
  }
}
