// export-users.ts — a generator: its rows come back one by one, never as one big array
import Database from 'better-sqlite3';
import { smartasync } from 'smartasync';

export const exportUsers = smartasync(function* exportUsers(file: string) {
  const db = new Database(file, { readonly: true });
  try {
    yield* db.prepare<[], { id: number; name: string }>('SELECT id, name FROM users').iterate();
  } finally {
    db.close(); // also when the reader stops early
  }
});
