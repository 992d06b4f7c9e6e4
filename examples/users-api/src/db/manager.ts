import { pbkdf2Sync } from 'node:crypto';
import { openBetterSqlite3 } from './drivers/better-sqlite3.ts';
import type { Driver, Row } from './drivers/driver.ts';
import { openNodeSqlite } from './drivers/node-sqlite.ts';
import { openPostgres } from './drivers/postgres.ts';
import {
  AccountNotFoundError,
  DatabaseUnavailableError,
  EmailTakenError,
  InsufficientFundsError,
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
  transfers: { count: number; volume: number };
  text: string;
  signature: string;
}

export interface ManagerOptions {
  /**
   * PBKDF2 iterations used to sign a report: the deliberately heavy, CPU-bound part of the
   * legacy report. About 10 ms per 100 000 on a current x86 core.
   */
  reportCost?: number;
}

export const DEFAULT_REPORT_COST = 400_000;

const user = (row: Row): User => ({ id: row.id as number, name: row.name as string, email: row.email as string });
const account = (row: Row): Account => ({ id: row.id as number, owner: row.owner as string, balance: row.balance as number });

function open(url: string): Driver {
  const target = parseDatabaseUrl(url);
  try {
    switch (target.driver) {
      case 'better-sqlite3':
        return openBetterSqlite3(target.path);
      case 'node-sqlite':
        return openNodeSqlite(target.path);
      case 'postgres':
        return openPostgres(target.url);
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
    this.#db = open(url);
    this.#reportCost = options.reportCost ?? DEFAULT_REPORT_COST;
    try {
      ensureSchema(this.#db);
    } catch (error) {
      this.#db.close();
      throw error;
    }
  }

  getAllUsers(): User[] {
    return this.#db.all('SELECT id, name, email FROM users ORDER BY id').map(user);
  }

  getUser(id: number): User | null {
    const [row] = this.#db.all('SELECT id, name, email FROM users WHERE id = ?', [id]);
    return row ? user(row) : null;
  }

  createUser({ name, email }: UserInput): User {
    return this.#uniqueEmail(email, () => {
      const [row] = this.#db.all('INSERT INTO users (name, email) VALUES (?, ?) RETURNING id, name, email', [name, email]);
      return user(row!);
    });
  }

  /** Replaces name and email; null if there is no such user. */
  updateUser(id: number, { name, email }: UserInput): User | null {
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
    return this.#db.all('DELETE FROM users WHERE id = ? RETURNING id', [id]).length > 0;
  }

  getAllAccounts(): Account[] {
    return this.#db.all('SELECT id, owner, balance FROM accounts ORDER BY id').map(account);
  }

  getAccount(id: number): Account | null {
    const [row] = this.#db.all('SELECT id, owner, balance FROM accounts WHERE id = ?', [id]);
    return row ? account(row) : null;
  }

  createAccount({ owner, balance }: AccountInput): Account {
    const [row] = this.#db.all('INSERT INTO accounts (owner, balance) VALUES (?, ?) RETURNING id, owner, balance', [
      owner,
      balance,
    ]);
    return account(row!);
  }

  /** Moves money between two accounts in one transaction: all of it happens or none. */
  transfer({ from, to, amount }: TransferInput): Transfer {
    if (from === to) throw new InvalidTransferError('Cannot transfer from an account to itself');
    if (!Number.isSafeInteger(amount) || amount <= 0) {
      throw new InvalidTransferError('Amount must be a positive integer');
    }
    return this.#db.transaction(() => {
      // Locking both rows in id order means two opposite transfers cannot deadlock.
      const rows = this.#db.all(`SELECT id, balance FROM accounts WHERE id IN (?, ?) ORDER BY id${this.#db.forUpdate}`, [
        from,
        to,
      ]);
      const source = rows.find((row) => row.id === from);
      if (!source) throw new AccountNotFoundError(from);
      if (!rows.some((row) => row.id === to)) throw new AccountNotFoundError(to);
      const balance = source.balance as number;
      if (balance < amount) throw new InsufficientFundsError(from, balance, amount);
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
      'SELECT COUNT(*) AS count, COALESCE(SUM(balance), 0) AS total, COALESCE(MIN(balance), 0) AS min, COALESCE(MAX(balance), 0) AS max FROM accounts',
    );
    const [transfers] = this.#db.all('SELECT COUNT(*) AS count, COALESCE(SUM(amount), 0) AS volume FROM transfers');
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
      `TOTAL USERS ${users.length}; ACCOUNTS ${accounts!.count} HOLDING ${accounts!.total}; TRANSFERS ${transfers!.count} MOVING ${transfers!.volume}`,
    ].join('\n');
    const signature = pbkdf2Sync(text, 'users-report', this.#reportCost, 32, 'sha256').toString('hex');
    return {
      generatedAt,
      users: users.length,
      domains,
      accounts: {
        count: accounts!.count as number,
        total: accounts!.total as number,
        min: accounts!.min as number,
        max: accounts!.max as number,
      },
      transfers: { count: transfers!.count as number, volume: transfers!.volume as number },
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
