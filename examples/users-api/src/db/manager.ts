import { pbkdf2Sync } from 'node:crypto';
import { type ExportType, exportTextSync } from '../export-text.ts';
import { connectSync } from './connect.ts';
import { DEFAULT_DATABASE_TIMEOUT_MS, type Driver } from './drivers/driver.ts';
import { observed } from './drivers/observed.ts';
import { EmailTakenError, InvalidAccountError } from './errors.ts';
import {
  type Account,
  type AccountInput,
  buildReport,
  checkLockedTransfer,
  checkName,
  checkOpening,
  checkTransfer,
  DEFAULT_REPORT_COST,
  isMoney,
  type ManagerOptions,
  MAX_MONEY,
  outOfRange,
  REPORT_SALT,
  toAccount,
  toUser,
  type Transfer,
  type TransferInput,
  type User,
  type UserInput,
  type UsersReport,
} from './model.ts';
import { checkSchemaSync } from './schema-version.ts';
import { isAsyncDriver, parseDatabaseUrl, redact } from './url.ts';

export * from './model.ts';

// Arbitrary, fixed key: serialises account openings on PostgreSQL (see createAccount).
const OPEN_ACCOUNT_LOCK_KEY = 7_261_004;

function open(url: string, timeoutMs: number): Driver {
  const target = parseDatabaseUrl(url);
  if (isAsyncDriver(target)) {
    throw new TypeError(
      `${redact(url)} is served by ${target.driver}, an async driver: open it with AsyncDriverManager (./async-manager.ts), or openDataLayer() (./async.ts) which picks the class by URL`,
    );
  }
  return connectSync(url, target, timeoutMs);
}

/**
 * The application's data layer, written the old way: a class with blocking methods over a
 * synchronous driver and one connection. smartasync (see ./async.ts) runs these methods on
 * worker threads, each with its own instance and connection; the CLI calls them directly.
 * Results are plain objects so they cross threads unchanged.
 */
export class DatabaseManager {
  readonly #db: Driver;
  readonly #url: string;
  readonly #timeoutMs: number;
  readonly #reportCost: number;
  #closed = false;

  constructor(url: string, options: ManagerOptions = {}) {
    this.#url = url;
    this.#timeoutMs = options.databaseTimeoutMs ?? DEFAULT_DATABASE_TIMEOUT_MS;
    // Statements and transactions traced (where OTEL_* asks) and logged (given options.log).
    this.#db = observed(open(url, this.#timeoutMs), options.log);
    this.#reportCost = options.reportCost ?? DEFAULT_REPORT_COST;
    try {
      // Migrating is a step of its own (./migrate.ts; the server and the CLI take it first):
      // here, only a database at this version's schema is accepted.
      checkSchemaSync(this.#db, redact(url));
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
    return this.#db.all('SELECT id, name, email FROM users ORDER BY id').map(toUser);
  }

  getUser(id: number): User | null {
    if (outOfRange(id)) return null;
    const [row] = this.#db.all('SELECT id, name, email FROM users WHERE id = ?', [id]);
    return row ? toUser(row) : null;
  }

  createUser({ name, email }: UserInput): User {
    checkName('name', name);
    return this.#uniqueEmail(email, () => {
      const [row] = this.#db.all('INSERT INTO users (name, email) VALUES (?, ?) RETURNING id, name, email', [
        name,
        email,
      ]);
      return toUser(row!);
    });
  }

  /** Replaces name and email; null if there is no such user. */
  updateUser(id: number, { name, email }: UserInput): User | null {
    if (outOfRange(id)) return null;
    checkName('name', name);
    return this.#uniqueEmail(email, () => {
      const [row] = this.#db.all('UPDATE users SET name = ?, email = ? WHERE id = ? RETURNING id, name, email', [
        name,
        email,
        id,
      ]);
      return row ? toUser(row) : null;
    });
  }

  /** False if there was no such user. */
  deleteUser(id: number): boolean {
    if (outOfRange(id)) return false;
    return this.#db.all('DELETE FROM users WHERE id = ? RETURNING id', [id]).length > 0;
  }

  getAllAccounts(): Account[] {
    return this.#db.all('SELECT id, owner, balance FROM accounts ORDER BY id').map(toAccount);
  }

  getAccount(id: number): Account | null {
    if (outOfRange(id)) return null;
    const [row] = this.#db.all('SELECT id, owner, balance FROM accounts WHERE id = ?', [id]);
    return row ? toAccount(row) : null;
  }

  /**
   * Refuses an opening balance that would take the total of all balances past MAX_MONEY: then
   * no balance and no sum the app computes can ever pass it, since transfers keep the total.
   */
  createAccount({ owner, balance }: AccountInput): Account {
    checkName('owner', owner);
    if (!isMoney(balance))
      throw new InvalidAccountError(`Balance must be an integer from 0 to ${MAX_MONEY}, not ${balance}`);
    return this.#db.transaction(() => {
      // SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL needs a lock so that two
      // openings cannot both see room for themselves.
      if (this.#db.dialect === 'postgres') this.#db.all('SELECT pg_advisory_xact_lock(?)', [OPEN_ACCOUNT_LOCK_KEY]);
      const [sum] = this.#db.all('SELECT CAST(COALESCE(SUM(balance), 0) AS TEXT) AS total FROM accounts');
      checkOpening(sum!.total as string, balance);
      const [row] = this.#db.all('INSERT INTO accounts (owner, balance) VALUES (?, ?) RETURNING id, owner, balance', [
        owner,
        balance,
      ]);
      return toAccount(row!);
    });
  }

  /** Moves money between two accounts in one transaction: all of it happens or none. */
  transfer(input: TransferInput): Transfer {
    checkTransfer(input);
    const { from, to, amount } = input;
    return this.#db.transaction(() => {
      // Locking both rows in id order means two opposite transfers cannot deadlock.
      const rows = this.#db.all(
        `SELECT id, balance FROM accounts WHERE id IN (?, ?) ORDER BY id${this.#db.forUpdate}`,
        [from, to],
      );
      checkLockedTransfer(input, rows);
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
    // The volume grows without bound. Summed in two parts so SQLite's 64-bit SUM cannot
    // overflow before 10^9 maximal transfers, and read as text so nothing is rounded.
    const [transfers] = this.#db.all(
      'SELECT COUNT(*) AS count, CAST(COALESCE(SUM(amount / 1000000), 0) AS TEXT) AS high, CAST(COALESCE(SUM(amount % 1000000), 0) AS TEXT) AS low FROM transfers',
    );
    const report = buildReport(users, accounts!, transfers!);
    return {
      ...report,
      signature: pbkdf2Sync(report.text, REPORT_SALT, this.#reportCost, 32, 'sha256').toString('hex'),
    };
  }

  /**
   * Every user, in id order, one at a time as the caller reads them: better-sqlite3's and
   * node:sqlite's statement iterators, a PostgreSQL cursor fetched in batches. The whole table
   * is never in memory. It reads on a connection of its own, opened on the first item and
   * closed when the loop ends (however it ends), so that the instance's other methods stay
   * usable meanwhile: a SQLite connection is busy while a statement iterates, and a cursor
   * lives in a transaction.
   */
  *exportUsers(): Generator<User, void, undefined> {
    const db = open(this.#url, this.#timeoutMs);
    try {
      for (const row of db.iterate('SELECT id, name, email FROM users ORDER BY id')) yield toUser(row);
    } finally {
      db.close();
    }
  }

  /**
   * The export's text (../export-text.ts), ROWS_PER_CHUNK rows a chunk. Run on a worker, the
   * encoding is the worker's work too, and the server's event loop only writes the chunks out:
   * 1 M rows reach it as 4 K strings rather than 1 M objects.
   */
  *exportText(type: ExportType): Generator<string, void, undefined> {
    yield* exportTextSync(type, this.exportUsers());
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
