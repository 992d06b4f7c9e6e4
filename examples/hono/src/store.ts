// The data layer: a plain synchronous class over better-sqlite3, as legacy code is written.
// One line makes it safe for the server: smartasync(UserStore) runs its methods on worker
// threads, each worker with its own connection (its own replica of the store).
import Database from 'better-sqlite3';
import { smartasync } from 'smartasync';

export interface User {
  id: number;
  name: string;
}

export interface Report {
  users: number;
  rows: number;
  checksum: number;
}

export class UserStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL'); // workers read while another connection writes
    this.db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  }

  add(name: string): User {
    return this.db.prepare('INSERT INTO users (name) VALUES (?) RETURNING id, name').get(name) as User;
  }

  get(id: number): User | undefined {
    return this.db.prepare('SELECT id, name FROM users WHERE id = ?').get(id) as User | undefined;
  }

  /** The heavy part: SQLite walks `rows` generated rows per call, synchronously (a big table scan, say). */
  report(rows: number): Report {
    const users = (this.db.prepare('SELECT count(*) AS n FROM users').get() as { n: number }).n;
    const scan = this.db
      .prepare(
        'WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) SELECT sum(i % 7) AS checksum FROM n',
      )
      .get(rows) as { checksum: number };
    return { users, rows, checksum: scan.checksum };
  }

  close(): void {
    this.db.close();
  }
}

/** The same class, its methods awaited from the server and run on worker threads. */
export const Users = smartasync(UserStore);
