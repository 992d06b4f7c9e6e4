// The data layer on its own: URL parsing, and the DatabaseManager and AsyncDriverManager
// classes through smartasync (awaited calls and `.sync` calls) on each driver.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { after, before, describe, test } from 'node:test';
import { getPool, release } from 'smartasync';
import { AsyncDatabaseManager, openDataLayer, SmartAsyncDriverManager } from '../src/db/async.ts';
import { AsyncDriverManager } from '../src/db/async-manager.ts';
import {
  AccountNotFoundError,
  DatabaseUnavailableError,
  EmailTakenError,
  InsufficientFundsError,
  InvalidNameError,
  SchemaUpgradeError,
} from '../src/db/errors.ts';
import { DatabaseManager } from '../src/db/manager.ts';
import { migrate } from '../src/db/migrate.ts';
import { openMysql } from '../src/db/drivers/mysql.ts';
import { openPg } from '../src/db/drivers/pg.ts';
import { openPostgres, withTimeouts } from '../src/db/drivers/postgres.ts';
import { parseDatabaseUrl, redact } from '../src/db/url.ts';
import {
  dialectOf,
  DRIVERS,
  type DriverName,
  isAsyncDriverName,
  needs,
  SYNC_DRIVERS,
  type TestDatabases,
  testDatabases,
} from './support/databases.ts';
import { rawQuery } from './support/raw.ts';
import { setUpPool } from './support/pool.ts';

let databases: TestDatabases;
before(async () => {
  setUpPool();
  databases = await testDatabases();
});
after(() => databases?.stop());

/** A fresh database of `driver`, migrated as the server and the CLI do before they open it. */
async function migratedUrl(driver: DriverName): Promise<string> {
  const url = databases.freshUrl(driver);
  await migrate(url);
  return url;
}

describe('DATABASE_URL', () => {
  test('chooses the driver and resolves file paths against the working directory', () => {
    assert.deepEqual(parseDatabaseUrl('sqlite:users.db'), {
      driver: 'better-sqlite3',
      path: `${process.cwd()}/users.db`,
    });
    assert.deepEqual(parseDatabaseUrl('sqlite:///var/data/users.db'), {
      driver: 'better-sqlite3',
      path: '/var/data/users.db',
    });
    assert.deepEqual(parseDatabaseUrl('node-sqlite:/tmp/u.db'), { driver: 'node-sqlite', path: '/tmp/u.db' });
    for (const url of ['postgres://u@h/db', 'postgresql://u:p@h:5433/db?sslmode=disable']) {
      assert.deepEqual(parseDatabaseUrl(url), { driver: 'postgres', url });
    }
    // The async drivers: pg for the same PostgreSQL URLs with +pg (SQLAlchemy's way to name a
    // driver), mysql2 for MySQL and MariaDB.
    assert.deepEqual(parseDatabaseUrl('postgres+pg://u:p@h:5433/db?sslmode=disable'), {
      driver: 'pg',
      url: 'postgresql://u:p@h:5433/db?sslmode=disable',
    });
    assert.deepEqual(parseDatabaseUrl('postgresql+pg://u@h/db'), { driver: 'pg', url: 'postgresql://u@h/db' });
    assert.deepEqual(parseDatabaseUrl('mysql://u:p@h:3306/db'), { driver: 'mysql2', url: 'mysql://u:p@h:3306/db' });
    assert.deepEqual(parseDatabaseUrl('mariadb://u@h/db'), { driver: 'mysql2', url: 'mysql://u@h/db' });
  });

  test('refuses what cannot work, without showing passwords', () => {
    assert.throws(
      () => parseDatabaseUrl('oracle://root:hunter2@h/db'),
      (e: Error) => {
        assert.match(e.message, /Unsupported DATABASE_URL "oracle:\/\/root:\*\*\*@h\/db"/);
        return true;
      },
    );
    assert.throws(() => parseDatabaseUrl('sqlite::memory:'), /In-memory SQLite cannot be shared/);
    assert.equal(redact('postgres://app:s3cr3t@db:5432/users'), 'postgres://app:***@db:5432/users');
    assert.equal(redact('postgres://app@db/users'), 'postgres://app@db/users');
  });
});

for (const driver of SYNC_DRIVERS) {
  describe(driver, needs(driver), () => {
    test('the constructor runs here and checks the schema; .sync calls run here too; awaited calls on a pool worker', async () => {
      const db = new AsyncDatabaseManager(await migratedUrl(driver));
      try {
        assert.ok(db.sync instanceof DatabaseManager);
        const completed = getPool().stats().completed;
        assert.deepEqual(db.getAllUsers.sync(), []);
        const user = db.createUser.sync({ name: "Robert'); DROP TABLE users;--", email: 'bobby@example.com' });
        assert.deepEqual(db.getUser.sync(user.id), user, 'parameterised: stored as written');
        assert.equal(db.getUser.sync(user.id + 1), null);
        assert.equal(getPool().stats().completed, completed, '.sync() sent nothing to the pool');
        // Awaited: on a worker, whose replica has its own connection to the same database.
        assert.deepEqual(await db.getUser(user.id), user);
        assert.equal(getPool().stats().completed, completed + 1, 'the awaited call ran on a pool worker');
      } finally {
        await release(db);
      }
    });
  });
}

for (const driver of DRIVERS.filter(isAsyncDriverName)) {
  describe(driver, needs(driver), () => {
    test('awaited calls run here, on the event loop; .sync calls on the bridge worker, blocking', async () => {
      const db = new SmartAsyncDriverManager(await migratedUrl(driver));
      try {
        assert.ok(db.sync instanceof AsyncDriverManager);
        const completed = getPool().stats().completed;
        assert.deepEqual(await db.getAllUsers(), []);
        const user = await db.createUser({ name: "Robert'); DROP TABLE users;--", email: 'bobby@example.com' });
        assert.equal(getPool().stats().completed, completed, 'no pool worker ran them');
        // This thread is blocked in .sync(): the driver's I/O can only have run on another thread.
        assert.deepEqual(db.getUser.sync(user.id), user, 'parameterised: stored as written');
        assert.equal(db.getUser.sync(user.id + 1), null);
        const made = db.createUser.sync({ name: 'Sync', email: 'sync@example.com' });
        assert.deepEqual(await db.getUser(made.id), made, 'the bridge wrote to the same database');
      } finally {
        await release(db);
      }
    });
  });
}

for (const driver of DRIVERS) {
  describe(driver, needs(driver), () => {
    test('results are plain objects; domain errors arrive as their own classes, awaited or .sync()', async () => {
      const db = openDataLayer(await migratedUrl(driver));
      try {
        const alice = await db.createUser({ name: 'Alice', email: 'alice@example.com' });
        assert.deepEqual(await db.getAllUsers(), [alice]);
        await assert.rejects(db.createUser({ name: 'Alice 2', email: 'alice@example.com' }), (e: unknown) => {
          assert.ok(e instanceof EmailTakenError);
          assert.equal(e.code, 'EMAIL_TAKEN');
          assert.equal(e.message, 'A user with email alice@example.com already exists');
          return true;
        });
        assert.throws(() => db.createUser.sync({ name: 'Alice 3', email: 'alice@example.com' }), EmailTakenError);

        const a = await db.createAccount({ owner: 'A', balance: 10 });
        const b = await db.createAccount({ owner: 'B', balance: 0 });
        await assert.rejects(db.transfer({ from: a.id, to: b.id, amount: 11 }), InsufficientFundsError);
        await assert.rejects(db.transfer({ from: a.id, to: 999, amount: 1 }), AccountNotFoundError);
        const transfer = await db.transfer({ from: a.id, to: b.id, amount: 10 });
        assert.deepEqual(
          { ...transfer, createdAt: undefined },
          { id: transfer.id, from: a.id, to: b.id, amount: 10, createdAt: undefined },
        );
        assert.deepEqual(
          (await db.getAllAccounts()).map((x) => x.balance),
          [0, 10],
        );

        const report = await db.usersReport();
        assert.deepEqual(report.domains, [{ domain: 'example.com', users: 1 }]);
        assert.deepEqual(report.accounts, { count: 2, total: 10, min: 0, max: 10 });
        assert.deepEqual(report.transfers, { count: 1, volume: '10' });
      } finally {
        await release(db);
      }
    });
  });
}

test('an unreachable database fails at construction, on the calling thread, with a clear error', () => {
  assert.throws(
    () => new AsyncDatabaseManager('postgresql://app:secret@127.0.0.1:1/users'),
    (e: unknown) => {
      assert.ok(e instanceof DatabaseUnavailableError);
      assert.equal(e.code, 'DATABASE_UNAVAILABLE');
      assert.match(e.message, /^Database postgresql:\/\/app:\*\*\*@127\.0\.0\.1:1\/users is unavailable: .*refused/s);
      return true;
    },
  );
  assert.throws(() => new DatabaseManager('node-sqlite:/nonexistent/dir/x.db'), DatabaseUnavailableError);
});

test('an unreachable database behind an async driver fails on the first call, awaited or .sync()', async () => {
  for (const [url, shown] of [
    ['mysql://app:secret@127.0.0.1:1/users', 'mysql://app:***@127.0.0.1:1/users'],
    ['postgres+pg://app:secret@127.0.0.1:1/users', 'postgresql://app:***@127.0.0.1:1/users'],
  ] as const) {
    // Constructing opens no connection: the pool connects on demand.
    const db = new SmartAsyncDriverManager(url);
    try {
      const unavailable = (e: unknown) => {
        assert.ok(e instanceof DatabaseUnavailableError, String(e));
        assert.equal(e.message.startsWith(`Database ${shown} is unavailable: `), true, e.message);
        assert.match(e.message, /ECONNREFUSED/);
        return true;
      };
      await assert.rejects(db.getAllUsers(), unavailable);
      assert.throws(() => db.getAllUsers.sync(), unavailable);
    } finally {
      await release(db);
    }
  }
  assert.throws(() => new DatabaseManager('mysql://u@h/db'), /an async driver: open it with AsyncDriverManager/);
  assert.throws(() => new AsyncDriverManager('sqlite:x.db'), /a synchronous driver: open it with DatabaseManager/);
});

/** The bare data layer of `driver` (no smartasync) over `url` once migrated, its methods awaited either way. */
async function bare(driver: DriverName, url: string) {
  await migrate(url);
  if (isAsyncDriverName(driver)) {
    const db = new AsyncDriverManager(url);
    try {
      await db.ping(); // the schema's version, checked on the first call
    } catch (error) {
      await db.close();
      throw error;
    }
    return { db, close: () => db.close() };
  }
  const db = new DatabaseManager(url);
  return { db, close: async () => db.close() };
}

/** Runs SQL on the database behind `url` with the bare driver, as another program would. */
const raw = async (driver: DriverName, url: string, sql: string) => void (await rawQuery(driver, url, sql));

// The tables as the previous version created them: no money bounds, emails unique by case.
// (MySQL and MariaDB came with the rules: they have no previous version.)
const OLD_SCHEMA: Record<'sqlite' | 'postgres', string> = {
  sqlite: `CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE);
    CREATE TABLE accounts (id INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL, balance INTEGER NOT NULL CHECK (balance >= 0));
    CREATE TABLE transfers (id INTEGER PRIMARY KEY AUTOINCREMENT, from_account INTEGER NOT NULL REFERENCES accounts (id),
      to_account INTEGER NOT NULL REFERENCES accounts (id), amount INTEGER NOT NULL CHECK (amount > 0), created_at TEXT NOT NULL);`,
  postgres: `CREATE TABLE users (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE);
    CREATE TABLE accounts (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, owner TEXT NOT NULL, balance BIGINT NOT NULL CHECK (balance >= 0));
    CREATE TABLE transfers (id INTEGER GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, from_account INTEGER NOT NULL REFERENCES accounts (id),
      to_account INTEGER NOT NULL REFERENCES accounts (id), amount BIGINT NOT NULL CHECK (amount > 0), created_at TEXT NOT NULL);`,
};

for (const driver of DRIVERS) {
  const dialect = dialectOf(driver);
  describe(`${driver}: rules the database itself enforces`, needs(driver), () => {
    test('money outside 0..2^53 - 1, or not whole, is refused by the database, not only by the API', async () => {
      const url = databases.freshUrl(driver);
      await (await bare(driver, url)).close();
      await raw(driver, url, "INSERT INTO accounts (owner, balance) VALUES ('ok', 9007199254740991)");
      const refused = ['1e300', '9007199254740992', '-1', ...(dialect === 'sqlite' ? ['1.5'] : [])];
      for (const balance of refused) {
        // PostgreSQL refuses 1e300 for bigint itself (MariaDB: out of range); the rest reach the constraint.
        await assert.rejects(
          raw(driver, url, `INSERT INTO accounts (owner, balance) VALUES ('bad', ${balance})`),
          /balance|bigint out of range|Out of range/,
          balance,
        );
      }
      await assert.rejects(raw(driver, url, 'UPDATE accounts SET balance = balance + 1'), /balance/);
      await assert.rejects(
        raw(
          driver,
          url,
          "INSERT INTO transfers (from_account, to_account, amount, created_at) VALUES (1, 1, 9007199254740992, 'x')",
        ),
        /amount/,
      );
    });

    test('emails are unique ignoring case in the database', async () => {
      const url = databases.freshUrl(driver);
      await (await bare(driver, url)).close();
      await raw(driver, url, "INSERT INTO users (name, email) VALUES ('a', 'Mixed@Case.test')");
      await assert.rejects(
        raw(driver, url, "INSERT INTO users (name, email) VALUES ('b', 'mixed@case.TEST')"),
        /unique|UNIQUE|Duplicate entry/,
      );
    });

    if (dialect !== 'mysql') {
      test('a database made by the previous version is upgraded: the same rules hold', async () => {
        const url = databases.freshUrl(driver);
        await raw(driver, url, OLD_SCHEMA[dialect]);
        await raw(
          driver,
          url,
          "INSERT INTO users (name, email) VALUES ('Old', 'Old@Example.com'); INSERT INTO accounts (owner, balance) VALUES ('Old', 100)",
        );
        const { db, close } = await bare(driver, url);
        try {
          await assert.rejects(async () => db.createUser({ name: 'New', email: 'old@example.COM' }), EmailTakenError);
          assert.equal((await db.getAllAccounts())[0]!.balance, 100);
        } finally {
          await close();
        }
        await assert.rejects(
          raw(driver, url, "INSERT INTO accounts (owner, balance) VALUES ('bad', 9007199254740992)"),
          /balance/,
        );
      });

      test('an old database whose rows break the rules is not upgraded: the error names them', async () => {
        const duplicates = databases.freshUrl(driver);
        await raw(driver, duplicates, OLD_SCHEMA[dialect]);
        await raw(
          driver,
          duplicates,
          "INSERT INTO users (name, email) VALUES ('a', 'Twin@Example.com'), ('b', 'twin@example.com')",
        );
        await assert.rejects(bare(driver, duplicates), (e: unknown) => {
          assert.ok(e instanceof SchemaUpgradeError);
          assert.match(e.message, /emails must be unique ignoring case, but twin@example\.com \(2 users\) are shared/);
          return true;
        });
        if (dialect === 'sqlite') {
          const money = databases.freshUrl(driver);
          await raw(driver, money, OLD_SCHEMA[dialect]);
          await raw(driver, money, "INSERT INTO accounts (owner, balance) VALUES ('ok', 1), ('rich', 1e300)");
          await assert.rejects(bare(driver, money), /accounts 2 hold other balances/);
        }
      });
    }

    // Issue 15, defect 11: the data layer keeps the name rule too (the databases cannot express it).
    test('names that draw nothing are refused by the data layer itself, not only by the HTTP schema', async () => {
      const { db, close } = await bare(driver, databases.freshUrl(driver));
      try {
        const user = await db.createUser({ name: 'Visible', email: 'visible@example.com' });
        for (const name of ['\u3164', '\u2800', ' \uffa0 ', '', 'a\u202eb']) {
          const refused = (e: unknown) => {
            assert.ok(e instanceof InvalidNameError, String(e));
            assert.equal(e.code, 'INVALID_NAME');
            assert.match(e.message, /must contain a visible character/);
            return true;
          };
          await assert.rejects(async () => db.createUser({ name, email: 'blank@example.com' }), refused);
          await assert.rejects(async () => db.updateUser(user.id, { name, email: 'visible@example.com' }), refused);
          await assert.rejects(async () => db.createAccount({ owner: name, balance: 1 }), refused);
        }
        assert.deepEqual(await db.getAllUsers(), [user]);
        assert.deepEqual(await db.getAllAccounts(), []);
      } finally {
        await close();
      }
    });

    test('ids past 2^31 - 1 are simply not found, without asking the database', async () => {
      const { db, close } = await bare(driver, databases.freshUrl(driver));
      try {
        const account = await db.createAccount({ owner: 'A', balance: 1 });
        for (const id of [2 ** 31, 2 ** 53 - 1, 0, -1, 1.5]) {
          assert.equal(await db.getUser(id), null, String(id));
          assert.equal(await db.getAccount(id), null, String(id));
          assert.equal(await db.deleteUser(id), false, String(id));
          assert.equal(await db.updateUser(id, { name: 'X', email: 'x@x.test' }), null, String(id));
          await assert.rejects(
            async () => db.transfer({ from: account.id, to: id, amount: 1 }),
            AccountNotFoundError,
            String(id),
          );
        }
      } finally {
        await close();
      }
    });
  });
}

describe('SQLite drivers', () => {
  // Found by migrations.test.ts: several processes or threads starting on a new database file
  // at once (the cluster, concurrent migrations) each switch it to WAL, which SQLite refuses
  // at once, busy timeout or not, while another connection is switching it.
  test('connections opening one new file at once all get it in WAL mode: 4 threads, 25 new files', async () => {
    for (const driver of ['better-sqlite3', 'node-sqlite'] as const) {
      const dir = mkdtempSync(join(tmpdir(), 'users-api-wal-'));
      try {
        const gate = new SharedArrayBuffer(4);
        const workerData = { driver, dir, rounds: 25, workers: 4, gate };
        const workers = Array.from(
          { length: workerData.workers },
          () => new Worker(new URL('./fixtures/open-worker.ts', import.meta.url), { workerData }),
        );
        const errors = (await Promise.all(workers.map((w) => once(w, 'message').then(([m]) => m as string[])))).flat();
        assert.deepEqual(errors, [], driver);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});

describe('postgres driver bounds', () => {
  test('libpq timeouts are added to the URL unless it sets them', () => {
    assert.equal(
      withTimeouts('postgres://app@db/users', 5000),
      'postgres://app@db/users?connect_timeout=5&keepalives=1&keepalives_idle=10&keepalives_interval=5&keepalives_count=3&tcp_user_timeout=6000',
    );
    assert.equal(
      withTimeouts('postgres://app@db/users?sslmode=require&connect_timeout=30&keepalives_idle=60', 1000),
      'postgres://app@db/users?sslmode=require&connect_timeout=30&keepalives_idle=60&keepalives=1&keepalives_interval=5&keepalives_count=3&tcp_user_timeout=2000',
    );
  });

  test('a bigint or numeric that a JavaScript number cannot hold exactly is refused, not rounded', () => {
    const driver = openPostgres(databases.freshUrl('postgres'), 5000);
    try {
      assert.deepEqual(driver.all('SELECT 9007199254740991::bigint AS n'), [{ n: 9007199254740991 }]);
      assert.throws(
        () => driver.all('SELECT 9007199254740993::bigint AS n'),
        /PostgreSQL returned 9007199254740993, which a JavaScript number cannot hold exactly/,
      );
      assert.throws(
        () => driver.all('SELECT SUM(x) AS n FROM (VALUES (9007199254740991::bigint), (2::bigint)) AS t (x)'),
        /9007199254740993/,
      );
    } finally {
      driver.close();
    }
  });

  test('statement_timeout is set from the database timeout: a slow statement is a DatabaseUnavailableError', () => {
    const driver = openPostgres(databases.freshUrl('postgres'), 300);
    try {
      assert.throws(
        () => driver.all('SELECT pg_sleep(2)'),
        (e: unknown) => {
          assert.ok(e instanceof DatabaseUnavailableError);
          assert.match(e.message, /canceling statement due to statement timeout/);
          return true;
        },
      );
      assert.deepEqual(driver.all('SELECT 1 AS ok'), [{ ok: 1 }], 'the connection is still usable');
    } finally {
      driver.close();
    }
  });
});

describe('async driver bounds', () => {
  for (const driver of ['pg', 'mysql'] as const) {
    const open = (url: string, timeoutMs: number) =>
      driver === 'pg' ? openPg(url.replace('postgres+pg:', 'postgresql:'), timeoutMs, 2) : openMysql(url, timeoutMs, 2);
    const database = driver === 'pg' ? 'PostgreSQL' : 'MariaDB';

    const refusesBig = `${driver}: a bigint or decimal that a JavaScript number cannot hold exactly is refused, not rounded`;
    test(refusesBig, needs(driver), async () => {
      const db = open(databases.freshUrl(driver), 5000);
      try {
        const big = driver === 'pg' ? '9007199254740991::bigint' : 'CAST(9007199254740991 AS SIGNED)';
        assert.deepEqual(await db.all(`SELECT ${big} AS n`), [{ n: 9007199254740991 }]);
        await assert.rejects(
          db.all(`SELECT ${big.replace('991', '993')} AS n`),
          new RegExp(`${database} returned 9007199254740993, which a JavaScript number cannot hold exactly`),
        );
        await assert.rejects(
          db.all(`SELECT SUM(x) AS n FROM (SELECT ${big} AS x UNION ALL SELECT 2) AS t`),
          /9007199254740993/,
        );
      } finally {
        await db.close();
      }
    });

    const boundsStatement = `${driver}: a statement is bounded by the database timeout: a slow one is a DatabaseUnavailableError`;
    test(boundsStatement, needs(driver), async () => {
      const db = open(databases.freshUrl(driver), 300);
      try {
        await assert.rejects(db.all(driver === 'pg' ? 'SELECT pg_sleep(2)' : 'SELECT SLEEP(2) AS s'), (e: unknown) => {
          assert.ok(e instanceof DatabaseUnavailableError, String(e));
          assert.match(e.message, /statement timeout|max_statement_time/);
          return true;
        });
        assert.deepEqual(await db.all('SELECT 1 AS ok'), [{ ok: 1 }], 'the pool is still usable');
      } finally {
        await db.close();
      }
    });
  }
});
