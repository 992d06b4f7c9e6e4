import type Database from 'better-sqlite3';

export interface Report {
  users: number;
  rows: number;
  checksum: number;
}

/** The heavy part: SQLite walks `rows` generated rows, synchronously (a big table scan, say). */
export function activityReport(db: Database.Database, rows: number): Report {
  const users = (db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
  const scan = db
    .prepare(
      'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT sum(i % 7) AS checksum FROM n',
    )
    .get(rows) as { checksum: number };
  return { users, rows, checksum: scan.checksum };
}
