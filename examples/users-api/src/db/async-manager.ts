import { pbkdf2 } from 'node:crypto';
import { type ExportType, exportText } from '../export-text.ts';
import { promisify } from 'node:util';
import type { AsyncDriver, Queryable } from './drivers/async-driver.ts';
import { DEFAULT_DATABASE_TIMEOUT_MS } from './drivers/driver.ts';
import { connectAsync } from './connect.ts';
import { EmailTakenError, InvalidAccountError } from './errors.ts';
import {
  type Account,
  type AccountInput,
  buildReport,
  checkLockedTransfer,
  checkName,
  checkOpening,
  checkTransfer,
  DEFAULT_POOL_SIZE,
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
import { checkSchema } from './schema-version.ts';
import { isAsyncDriver, parseDatabaseUrl, redact } from './url.ts';

const pbkdf2Async = promisify(pbkdf2);

// Arbitrary, fixed key: serialises account openings on PostgreSQL (see createAccount).
const OPEN_ACCOUNT_LOCK_KEY = 7_261_004;

function open(url: string, options: ManagerOptions): AsyncDriver {
  const target = parseDatabaseUrl(url);
  if (!isAsyncDriver(target)) {
    throw new TypeError(
      `${redact(url)} is served by ${target.driver}, a synchronous driver: open it with DatabaseManager (./manager.ts), or openDataLayer() (./async.ts) which picks the class by URL`,
    );
  }
  return connectAsync(
    url,
    target,
    options.databaseTimeoutMs ?? DEFAULT_DATABASE_TIMEOUT_MS,
    options.poolSize ?? DEFAULT_POOL_SIZE,
  );
}

/**
 * The same data layer as DatabaseManager, written the new way: `async` methods over an async
 * driver (mysql2/promise for MariaDB and MySQL, pg for PostgreSQL) and a pool of connections.
 * Wrapped by smartasync like the synchronous class (./async.ts): the server awaits these
 * methods on the event loop, where they already belong (no worker, no replica); the CLI calls
 * them with `.sync()`, which runs them on smartasync's bridge worker and blocks until they
 * settle.
 *
 * The constructor only sets the pool up (no connection yet): the first call checks that the
 * database is at this version's schema (migrating is a step of its own, ./migrate.ts), and a
 * call that fails to reach the database tries again on the next call.
 */
export class AsyncDriverManager {
  readonly #db: AsyncDriver;
  readonly #where: string;
  readonly #reportCost: number;
  #ready: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  constructor(url: string, options: ManagerOptions = {}) {
    this.#db = open(url, options);
    this.#where = redact(url);
    this.#reportCost = options.reportCost ?? DEFAULT_REPORT_COST;
  }

  /** The driver, once the database is known to be at this version's schema (checked on first use). */
  async #driver(): Promise<AsyncDriver> {
    if (this.#closed) throw new Error('This AsyncDriverManager is closed');
    this.#ready ??= checkSchema(this.#db, this.#where).catch((error: unknown) => {
      this.#ready = undefined; // not reachable now, or refused: the next call tries again
      throw error;
    });
    await this.#ready;
    return this.#db;
  }

  /** A round trip to the database, for readiness checks. */
  async ping(): Promise<true> {
    await (await this.#driver()).all('SELECT 1 AS ok');
    return true;
  }

  async getAllUsers(): Promise<User[]> {
    return (await (await this.#driver()).all('SELECT id, name, email FROM users ORDER BY id')).map(toUser);
  }

  async getUser(id: number): Promise<User | null> {
    if (outOfRange(id)) return null;
    const [row] = await (await this.#driver()).all('SELECT id, name, email FROM users WHERE id = ?', [id]);
    return row ? toUser(row) : null;
  }

  async createUser({ name, email }: UserInput): Promise<User> {
    checkName('name', name);
    const db = await this.#driver();
    return this.#uniqueEmail(email, async () => {
      const id = await db.insert('INSERT INTO users (name, email) VALUES (?, ?)', [name, email]);
      return { id, name, email };
    });
  }

  /** Replaces name and email; null if there is no such user. */
  async updateUser(id: number, { name, email }: UserInput): Promise<User | null> {
    if (outOfRange(id)) return null;
    checkName('name', name);
    const db = await this.#driver();
    return this.#uniqueEmail(email, async () => {
      const matched = await db.run('UPDATE users SET name = ?, email = ? WHERE id = ?', [name, email, id]);
      return matched > 0 ? { id, name, email } : null;
    });
  }

  /** False if there was no such user. */
  async deleteUser(id: number): Promise<boolean> {
    if (outOfRange(id)) return false;
    return (await (await this.#driver()).run('DELETE FROM users WHERE id = ?', [id])) > 0;
  }

  async getAllAccounts(): Promise<Account[]> {
    return (await (await this.#driver()).all('SELECT id, owner, balance FROM accounts ORDER BY id')).map(toAccount);
  }

  async getAccount(id: number): Promise<Account | null> {
    if (outOfRange(id)) return null;
    const [row] = await (await this.#driver()).all('SELECT id, owner, balance FROM accounts WHERE id = ?', [id]);
    return row ? toAccount(row) : null;
  }

  /**
   * Refuses an opening balance that would take the total of all balances past MAX_MONEY: then
   * no balance and no sum the app computes can ever pass it, since transfers keep the total.
   */
  async createAccount({ owner, balance }: AccountInput): Promise<Account> {
    checkName('owner', owner);
    if (!isMoney(balance))
      throw new InvalidAccountError(`Balance must be an integer from 0 to ${MAX_MONEY}, not ${balance}`);
    const db = await this.#driver();
    return db.transaction(async (tx) => {
      // Two openings must not both see room for themselves: one lock serialises them
      // (PostgreSQL's advisory lock; on MySQL and MariaDB, a row of app_locks).
      if (db.dialect === 'postgres') await tx.all('SELECT pg_advisory_xact_lock(?)', [OPEN_ACCOUNT_LOCK_KEY]);
      else await tx.all("SELECT name FROM app_locks WHERE name = 'open_account' FOR UPDATE");
      const [sum] = await tx.all(`SELECT CAST(COALESCE(SUM(balance), 0) AS ${db.textType}) AS total FROM accounts`);
      checkOpening(sum!.total as string, balance);
      const id = await tx.insert('INSERT INTO accounts (owner, balance) VALUES (?, ?)', [owner, balance]);
      return { id, owner, balance };
    });
  }

  /** Moves money between two accounts in one transaction: all of it happens or none. */
  async transfer(input: TransferInput): Promise<Transfer> {
    checkTransfer(input);
    const { from, to, amount } = input;
    const db = await this.#driver();
    return db.transaction(async (tx: Queryable) => {
      // Locking both rows in id order means two opposite transfers cannot deadlock.
      const rows = await tx.all('SELECT id, balance FROM accounts WHERE id IN (?, ?) ORDER BY id FOR UPDATE', [
        from,
        to,
      ]);
      checkLockedTransfer(input, rows);
      await tx.run('UPDATE accounts SET balance = balance - ? WHERE id = ?', [amount, from]);
      await tx.run('UPDATE accounts SET balance = balance + ? WHERE id = ?', [amount, to]);
      const createdAt = new Date().toISOString();
      const id = await tx.insert(
        'INSERT INTO transfers (from_account, to_account, amount, created_at) VALUES (?, ?, ?, ?)',
        [from, to, amount, createdAt],
      );
      return { id, from, to, amount, createdAt };
    });
  }

  /**
   * The same report as DatabaseManager's, the async way: the queries wait on the database, and
   * the signing, the CPU-heavy part, runs on libuv's thread pool (crypto.pbkdf2), so none of it
   * holds the event loop.
   */
  async usersReport(): Promise<UsersReport> {
    const db = await this.#driver();
    const text = db.textType;
    // Integer division: `/` on MySQL and MariaDB gives a decimal.
    const div = db.dialect === 'mysql' ? 'DIV' : '/';
    const [users, [accounts], [transfers]] = await Promise.all([
      this.getAllUsers(),
      db.all(
        `SELECT COUNT(*) AS count, CAST(COALESCE(SUM(balance), 0) AS ${text}) AS total, COALESCE(MIN(balance), 0) AS min, COALESCE(MAX(balance), 0) AS max FROM accounts`,
      ),
      db.all(
        `SELECT COUNT(*) AS count, CAST(COALESCE(SUM(amount ${div} 1000000), 0) AS ${text}) AS high, CAST(COALESCE(SUM(amount % 1000000), 0) AS ${text}) AS low FROM transfers`,
      ),
    ]);
    const report = buildReport(users, accounts!, transfers!);
    const signature = await pbkdf2Async(report.text, REPORT_SALT, this.#reportCost, 32, 'sha256');
    return { ...report, signature: signature.toString('hex') };
  }

  /**
   * Every user, in id order, one at a time as the caller reads them: a cursor (pg) or a
   * streamed result (mysql2) on a connection of its own, so the whole table is never in memory.
   * Ending the loop early gives the connection back.
   */
  async *exportUsers(): AsyncGenerator<User, void, undefined> {
    const db = await this.#driver();
    for await (const row of db.iterate('SELECT id, name, email FROM users ORDER BY id')) yield toUser(row);
  }

  /** The export's text (../export-text.ts), ROWS_PER_CHUNK rows a chunk. */
  async *exportText(type: ExportType): AsyncGenerator<string, void, undefined> {
    yield* exportText(type, this.exportUsers());
  }

  /** Waits for calls in flight, then closes the pool's connections. */
  close(): Promise<void> {
    return (this.#closed ??= this.#db.close());
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #uniqueEmail<T>(email: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (this.#db.isUniqueViolation(error)) throw new EmailTakenError(email);
      throw error;
    }
  }
}
