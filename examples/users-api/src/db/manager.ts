import { pbkdf2Sync } from 'node:crypto';
import { openBetterSqlite3 } from './drivers/better-sqlite3.ts';
import { DEFAULT_DATABASE_TIMEOUT_MS, type Driver, type Row } from './drivers/driver.ts';
import { openNodeSqlite } from './drivers/node-sqlite.ts';
import { openPostgres } from './drivers/postgres.ts';
import {
  AccountNotFoundError,
  BalanceLimitError,
  DatabaseUnavailableError,
  EmailTakenError,
  InsufficientFundsError,
  InvalidAccountError,
  InvalidTransferError,
} from './errors.ts';
import { ensureSchema } from './schema.ts';
import { parseDatabaseUrl, redact } from './url.ts';

export interface User {
  id: number;
  name: string;
  email: string;
}
export interface UserInput {
  name: string;
  email: string;
}
export interface Account {
  id: number;
  owner: string;
  /** In minor units (cents): integers keep sums exact. */
  balance: number;
}
export interface AccountInput {
  owner: string;
  balance: number;
}
export interface TransferInput {
  from: number;
  to: number;
  amount: number;
}
export interface Transfer extends TransferInput {
  id: number;
  createdAt: string;
}
export interface UsersReport {
  generatedAt: string;
  users: number;
  domains: { domain: string; users: number }[];
  accounts: { count: number; total: number; min: number; max: number };
  /** volume: the sum of all amounts ever moved, as exact decimal text (it has no bound). */
  transfers: { count: number; volume: string };
  text: string;
  signature: string;
}

export interface ManagerOptions {
  /**
   * PBKDF2 iterations used to sign a report: the deliberately heavy, CPU-bound part of the
   * legacy report. About 10 ms per 100 000 on a current x86 core.
   */
  reportCost?: number;
  /**
   * How long one statement may wait on the database, in ms (default 5000): SQLite's busy
   * timeout, PostgreSQL's statement_timeout. On PostgreSQL, connecting is bounded by it (whole
   * seconds, at least 2) and a server that stops answering by it plus one second.
   */
  databaseTimeoutMs?: number;
}

export const DEFAULT_REPORT_COST = 400_000;

/** Ids are PostgreSQL integers on every driver (see Id in ../schemas.ts). */
export const MAX_ID = 2_147_483_647;
/** Balances, amounts and their total stay exact in a JavaScript number (see MAX_MONEY in ../schemas.ts). */
export const MAX_MONEY = Number.MAX_SAFE_INTEGER;

/** An id no row can have: answered as "not found" without asking the database, on every driver. */
const outOfRange = (id: number) => !Number.isSafeInteger(id) || id < 1 || id > MAX_ID;
const isMoney = (value: number) => Number.isSafeInteger(value) && value >= 0 && value <= MAX_MONEY;

const user = (row: Row): User => ({ id: row.id as number, name: row.name as string, email: row.email as string });
const account = (row: Row): Account => ({
  id: row.id as number,
  owner: row.owner as string,
  balance: row.balance as number,
});

// Arbitrary, fixed key: serialises account openings on PostgreSQL (see createAccount).
const OPEN_ACCOUNT_LOCK_KEY = 7_261_004;

function open(url: string, timeoutMs: number): Driver {
  const target = parseDatabaseUrl(url);
  try {
    switch (target.driver) {
      case 'better-sqlite3':
        return openBetterSqlite3(target.path, timeoutMs);
      case 'node-sqlite':
        return openNodeSqlite(target.path, timeoutMs);
      case 'postgres':
        return openPostgres(target.url, timeoutMs);
    }
  } catch (cause) {
    throw new DatabaseUnavailableError(redact(url), { cause });
  }
}

/**
 * The application's data layer, written the old way: a class with blocking methods over a
 * synchronous driver and one connection. smartasync (see ./async.ts) runs these methods on
 * worker threads, each with its own instance and connection; the CLI calls them directly.
 * Results are plain objects so they cross threads unchanged.
 */
export class DatabaseManager {
  readonly #db: Driver;
  readonly #reportCost: number;
  #closed = false;

  constructor(url: string, options: ManagerOptions = {}) {
    this.#db = open(url, options.databaseTimeoutMs ?? DEFAULT_DATABASE_TIMEOUT_MS);
    this.#reportCost = options.reportCost ?? DEFAULT_REPORT_COST;
    try {
      ensureSchema(this.#db);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  /** A round trip to the database, for readiness checks. */
  ping(): true {
    this.#db.all('SELECT 1 AS ok');
    return true;
  }

  getAllUsers(): User[] {
    return this.#db.all('SELECT id, name, email FROM users ORDER BY id').map(user);
  }

  getUser(id: number): User | null {
    if (outOfRange(id)) return null;
    const [row] = this.#db.all('SELECT id, name, email FROM users WHERE id = ?', [id]);
    return row ? user(row) : null;
  }

  createUser({ name, email }: UserInput): User {
    return this.#uniqueEmail(email, () => {
      const [row] = this.#db.all('INSERT INTO users (name, email) VALUES (?, ?) RETURNING id, name, email', [
        name,
        email,
      ]);
      return user(row!);
    });
  }

  /** Replaces name and email; null if there is no such user. */
  updateUser(id: number, { name, email }: UserInput): User | null {
    if (outOfRange(id)) return null;
    return this.#uniqueEmail(email, () => {
      const [row] = this.#db.all('UPDATE users SET name = ?, email = ? WHERE id = ? RETURNING id, name, email', [
        name,
        email,
        id,
      ]);
      return row ? user(row) : null;
    });
  }

  /** False if there was no such user. */
  deleteUser(id: number): boolean {
    if (outOfRange(id)) return false;
    return this.#db.all('DELETE FROM users WHERE id = ? RETURNING id', [id]).length > 0;
  }

  getAllAccounts(): Account[] {
    return this.#db.all('SELECT id, owner, balance FROM accounts ORDER BY id').map(account);
  }

  getAccount(id: number): Account | null {
    if (outOfRange(id)) return null;
    const [row] = this.#db.all('SELECT id, owner, balance FROM accounts WHERE id = ?', [id]);
    return row ? account(row) : null;
  }

  /**
   * Refuses an opening balance that would take the total of all balances past MAX_MONEY: then
   * no balance and no sum the app computes can ever pass it, since transfers keep the total.
   */
  createAccount({ owner, balance }: AccountInput): Account {
    if (!isMoney(balance))
      throw new InvalidAccountError(`Balance must be an integer from 0 to ${MAX_MONEY}, not ${balance}`);
    return this.#db.transaction(() => {
      // SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock so that two
      // openings cannot both see room for themselves.
      if (this.#db.dialect === 'postgres') this.#db.all('SELECT pg_advisory_xact_lock(?)', [OPEN_ACCOUNT_LOCK_KEY]);
      const [sum] = this.#db.all('SELECT CAST(COALESCE(SUM(balance), 0) AS TEXT) AS total FROM accounts');
      const total = BigInt(sum!.total as string) + BigInt(balance);
      if (total > BigInt(MAX_MONEY)) {
        throw new BalanceLimitError(`Opening this account would bring the total of all balances to ${total}`);
      }
      const [row] = this.#db.all('INSERT INTO accounts (owner, balance) VALUES (?, ?) RETURNING id, owner, balance', [
        owner,
        balance,
      ]);
      return account(row!);
    });
  }

  /** Moves money between two accounts in one transaction: all of it happens or none. */
  transfer({ from, to, amount }: TransferInput): Transfer {
    if (from === to) throw new InvalidTransferError('Cannot transfer from an account to itself');
    if (!isMoney(amount) || amount === 0) {
      throw new InvalidTransferError(`Amount must be an integer from 1 to ${MAX_MONEY}`);
    }
    if (outOfRange(from)) throw new AccountNotFoundError(from);
    if (outOfRange(to)) throw new AccountNotFoundError(to);
    return this.#db.transaction(() => {
      // Locking both rows in id order means two opposite transfers cannot deadlock.
      const rows = this.#db.all(
        `SELECT id, balance FROM accounts WHERE id IN (?, ?) ORDER BY id${this.#db.forUpdate}`,
        [from, to],
      );
      const source = rows.find((row) => row.id === from);
      if (!source) throw new AccountNotFoundError(from);
      const target = rows.find((row) => row.id === to);
      if (!target) throw new AccountNotFoundError(to);
      const balance = source.balance as number;
      if (balance < amount) throw new InsufficientFundsError(from, balance, amount);
      // Cannot happen while the total stays within MAX_MONEY (createAccount), but a database
      // filled by an earlier version may hold more.
      if ((target.balance as number) > MAX_MONEY - amount) {
        throw new BalanceLimitError(`Account ${to} would hold ${BigInt(target.balance as number) + BigInt(amount)}`);
      }
      this.#db.all('UPDATE accounts SET balance = balance - ? WHERE id = ?', [amount, from]);
      this.#db.all('UPDATE accounts SET balance = balance + ? WHERE id = ?', [amount, to]);
      const createdAt = new Date().toISOString();
      const [row] = this.#db.all(
        'INSERT INTO transfers (from_account, to_account, amount, created_at) VALUES (?, ?, ?, ?) RETURNING id',
        [from, to, amount, createdAt],
      );
      return { id: row!.id as number, from, to, amount, createdAt };
    });
  }

  /**
   * The legacy report: aggregate queries, then slow synchronous formatting and signing. It
   * stands for the kind of code nobody wants to rewrite and that must not stall the server.
   */
  usersReport(): UsersReport {
    const users = this.getAllUsers();
    const [accounts] = this.#db.all(
      'SELECT COUNT(*) AS count, CAST(COALESCE(SUM(balance), 0) AS TEXT) AS total, COALESCE(MIN(balance), 0) AS min, COALESCE(MAX(balance), 0) AS max FROM accounts',
    );
    const total = BigInt(accounts!.total as string);
    if (total > BigInt(MAX_MONEY)) throw new BalanceLimitError(`The total of all balances is ${total}`);
    // The volume grows without bound. Summed in two parts so SQLite's 64-bit SUM cannot
    // overflow before 10^9 maximal transfers, and read as text so nothing is rounded.
    const [transfers] = this.#db.all(
      'SELECT COUNT(*) AS count, CAST(COALESCE(SUM(amount / 1000000), 0) AS TEXT) AS high, CAST(COALESCE(SUM(amount % 1000000), 0) AS TEXT) AS low FROM transfers',
    );
    const volume = (BigInt(transfers!.high as string) * 1_000_000n + BigInt(transfers!.low as string)).toString();
    const byDomain = new Map<string, number>();
    for (const { email } of users) {
      const domain = email.slice(email.lastIndexOf('@') + 1).toLowerCase();
      byDomain.set(domain, (byDomain.get(domain) ?? 0) + 1);
    }
    const domains = [...byDomain]
      .map(([domain, count]) => ({ domain, users: count }))
      .sort((a, b) => b.users - a.users || a.domain.localeCompare(b.domain));
    const generatedAt = new Date().toISOString();
    const text = [
      `USERS REPORT ${generatedAt}`,
      `${'DOMAIN'.padEnd(40)}${'USERS'.padStart(8)}`,
      ...domains.map((d) => `${d.domain.padEnd(40)}${String(d.users).padStart(8)}`),
      `TOTAL USERS ${users.length}; ACCOUNTS ${accounts!.count} HOLDING ${accounts!.total}; TRANSFERS ${transfers!.count} MOVING ${volume}`,
    ].join('\n');
    const signature = pbkdf2Sync(text, 'users-report', this.#reportCost, 32, 'sha256').toString('hex');
    return {
      generatedAt,
      users: users.length,
      domains,
      accounts: {
        count: accounts!.count as number,
        total: Number(total),
        min: accounts!.min as number,
        max: accounts!.max as number,
      },
      transfers: { count: transfers!.count as number, volume },
      text,
      signature,
    };
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #uniqueEmail<T>(email: string, write: () => T): T {
    try {
      return write();
    } catch (error) {
      if (this.#db.isUniqueViolation(error)) throw new EmailTakenError(email);
      throw error;
    }
  }
}
