// MySQL's and MariaDB's migrations (mysql2), in order. The rules held there from the start, so
// 0001 is the whole schema as it was before the version table existed, every object IF NOT
// EXISTS so that it adopts a database made then. DDL commits on its own in MySQL: a migration is
// written so that running it again after a failure part-way finishes the job.
import { MAX_MONEY } from './refusals.ts';
import type { Migration } from './types.ts';

const TABLES = [
  // Emails are ASCII with a case-insensitive ASCII collation: unique ignoring case, kept as written.
  `CREATE TABLE IF NOT EXISTS users (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name TEXT NOT NULL,
    email VARCHAR(320) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    UNIQUE KEY users_email_ci (email)
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
  // CHECKs are enforced since MariaDB 10.2 and MySQL 8.0.16.
  `CREATE TABLE IF NOT EXISTS accounts (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    owner TEXT NOT NULL,
    balance BIGINT NOT NULL,
    CONSTRAINT accounts_balance_exact CHECK (balance BETWEEN 0 AND ${MAX_MONEY})
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
  `CREATE TABLE IF NOT EXISTS transfers (
    id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    from_account INT NOT NULL,
    to_account INT NOT NULL,
    amount BIGINT NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    CONSTRAINT transfers_amount_exact CHECK (amount BETWEEN 1 AND ${MAX_MONEY}),
    CONSTRAINT transfers_from FOREIGN KEY (from_account) REFERENCES accounts (id),
    CONSTRAINT transfers_to FOREIGN KEY (to_account) REFERENCES accounts (id)
  ) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin`,
  // A row to lock: MySQL has no transaction-scoped advisory lock (see createAccount).
  'CREATE TABLE IF NOT EXISTS app_locks (name VARCHAR(64) NOT NULL PRIMARY KEY) ENGINE = InnoDB',
  "INSERT IGNORE INTO app_locks (name) VALUES ('open_account')",
];

export const MYSQL_MIGRATIONS: readonly Migration[] = [
  {
    name: '0001-tables',
    async up(db) {
      for (const statement of TABLES) await db.exec(statement);
    },
  },
];
