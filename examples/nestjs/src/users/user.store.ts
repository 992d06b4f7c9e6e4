// A plain synchronous class over better-sqlite3, as legacy code is written: not a Nest
// provider, and not changed. smartasync(UserStore) gives the same class with its methods run
// on worker threads, each worker with its own connection; users.module.ts provides it.
import Database from 'better-sqlite3';
import { smartasync } from 'smartasync';

export interface User {
  id: number;
  name: string;
}

export class UserStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL)');
  }

  add(name: string): User {
    return this.db.prepare('INSERT INTO users (name) VALUES (?) RETURNING id, name').get(name) as User;
  }

  get(id: number): User | undefined {
    return this.db.prepare('SELECT id, name FROM users WHERE id = ?').get(id) as User | undefined;
  }

  close(): void {
    this.db.close();
  }
}

export const SmartUserStore = smartasync(UserStore);
