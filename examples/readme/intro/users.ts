// users.ts — your synchronous code, unchanged, plus one line
import Database from 'better-sqlite3';
import { smartasync } from 'smartasync';

export class UserStore {
  private readonly db: Database.Database;
  constructor(file: string) {
    this.db = new Database(file);
    this.db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT)');
  }
  add(name: string) { this.db.prepare('INSERT INTO users (name) VALUES (?)').run(name); }
  all() { return this.db.prepare('SELECT id, name FROM users').all() as { id: number; name: string }[]; }
  close() { this.db.close(); }
}
export const Users = smartasync(UserStore);   // at module top level
