// SQLite's migrations (better-sqlite3 and node:sqlite), in order. 0001-0003 are the schema as it
// was before the version table existed: written so that they also adopt a database made then
// (every object IF NOT EXISTS), which is then recorded at 0003.
import { MAX_MONEY, refuseBadMoney, refuseCaseDuplicates } from './refusals.ts';
import type { Migration } from './types.ts';

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    name: '0001-tables',
    up: (db) =>
      db.exec(`
        CREATE TABLE IF NOT EXISTS users (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          name TEXT NOT NULL,
          email TEXT NOT NULL UNIQUE
        );
        CREATE TABLE IF NOT EXISTS accounts (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          owner TEXT NOT NULL,
          balance INTEGER NOT NULL CHECK (balance >= 0)
        );
        CREATE TABLE IF NOT EXISTS transfers (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          from_account INTEGER NOT NULL REFERENCES accounts (id),
          to_account INTEGER NOT NULL REFERENCES accounts (id),
          amount INTEGER NOT NULL CHECK (amount > 0),
          created_at TEXT NOT NULL
        );`),
  },
  {
    // Triggers, not CHECKs, because SQLite cannot add a CHECK to an existing table. A REAL
    // (1e300, 1.5) or an integer past 2^53 - 1 is refused; INTEGER affinity has already turned
    // a whole REAL like 5.0 into 5.
    name: '0002-exact-money',
    async up(db) {
      await refuseBadMoney(
        db,
        `typeof(balance) <> 'integer' OR balance < 0 OR balance > ${MAX_MONEY}`,
        `typeof(amount) <> 'integer' OR amount < 1 OR amount > ${MAX_MONEY}`,
      );
      await db.exec(`
        CREATE TRIGGER IF NOT EXISTS accounts_balance_on_insert BEFORE INSERT ON accounts
        WHEN typeof(NEW.balance) <> 'integer' OR NEW.balance < 0 OR NEW.balance > ${MAX_MONEY}
        BEGIN SELECT RAISE(ABORT, 'accounts.balance must be an integer from 0 to ${MAX_MONEY}'); END;
        CREATE TRIGGER IF NOT EXISTS accounts_balance_on_update BEFORE UPDATE OF balance ON accounts
        WHEN typeof(NEW.balance) <> 'integer' OR NEW.balance < 0 OR NEW.balance > ${MAX_MONEY}
        BEGIN SELECT RAISE(ABORT, 'accounts.balance must be an integer from 0 to ${MAX_MONEY}'); END;
        CREATE TRIGGER IF NOT EXISTS transfers_amount_on_insert BEFORE INSERT ON transfers
        WHEN typeof(NEW.amount) <> 'integer' OR NEW.amount < 1 OR NEW.amount > ${MAX_MONEY}
        BEGIN SELECT RAISE(ABORT, 'transfers.amount must be an integer from 1 to ${MAX_MONEY}'); END;`);
    },
  },
  {
    // Emails are ASCII (see EMAIL_PATTERN); SQLite's lower() folds ASCII only.
    name: '0003-emails-unique-ignoring-case',
    async up(db) {
      await refuseCaseDuplicates(db, 'lower(email)');
      await db.exec('CREATE UNIQUE INDEX IF NOT EXISTS users_email_ci ON users (lower(email))');
    },
  },
];
