// The data layer on its own: URL parsing, and the DatabaseManager class through smartasync
// (worker calls and `.sync` calls) on each driver.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { release } from 'smartasync';
import { AsyncDatabaseManager } from '../src/db/async.ts';
import { AccountNotFoundError, DatabaseUnavailableError, EmailTakenError, InsufficientFundsError } from '../src/db/errors.ts';
import { DatabaseManager } from '../src/db/manager.ts';
import { parseDatabaseUrl, redact } from '../src/db/url.ts';
import { DRIVERS, type TestDatabases, testDatabases } from './support/databases.ts';
import { setUpPool } from './support/pool.ts';

let databases: TestDatabases;
before(async () => {
  setUpPool();
  databases = await testDatabases();
});
after(() => databases?.stop());

describe('DATABASE_URL', () => {
  test('chooses the driver and resolves file paths against the working directory', () => {
    assert.deepEqual(parseDatabaseUrl('sqlite:users.db'), { driver: 'better-sqlite3', path: `${process.cwd()}/users.db` });
    assert.deepEqual(parseDatabaseUrl('sqlite:///var/data/users.db'), { driver: 'better-sqlite3', path: '/var/data/users.db' });
    assert.deepEqual(parseDatabaseUrl('node-sqlite:/tmp/u.db'), { driver: 'node-sqlite', path: '/tmp/u.db' });
    for (const url of ['postgres://u@h/db', 'postgresql://u:p@h:5433/db?sslmode=disable']) {
      assert.deepEqual(parseDatabaseUrl(url), { driver: 'postgres', url });
    }
  });

  test('refuses what cannot work, without showing passwords', () => {
    assert.throws(() => parseDatabaseUrl('mysql://root:hunter2@h/db'), (e: Error) => {
      assert.match(e.message, /Unsupported DATABASE_URL "mysql:\/\/root:\*\*\*@h\/db"/);
      return true;
    });
    assert.throws(() => parseDatabaseUrl('sqlite::memory:'), /In-memory SQLite cannot be shared/);
    assert.equal(redact('postgres://app:s3cr3t@db:5432/users'), 'postgres://app:***@db:5432/users');
    assert.equal(redact('postgres://app@db/users'), 'postgres://app@db/users');
  });
});

for (const driver of DRIVERS) {
  describe(driver, () => {
    test('the constructor runs here and creates the schema; .sync calls run here too', () => {
      const db = new AsyncDatabaseManager(databases.freshUrl(driver));
      try {
        assert.ok(db.sync instanceof DatabaseManager);
        assert.deepEqual(db.getAllUsers.sync(), []);
        const user = db.createUser.sync({ name: "Robert'); DROP TABLE users;--", email: 'bobby@example.com' });
        assert.deepEqual(db.getUser.sync(user.id), user, 'parameterised: stored as written');
        assert.equal(db.getUser.sync(user.id + 1), null);
      } finally {
        db.sync.close();
      }
    });

    test('worker calls return plain results; domain errors arrive as their own classes', async () => {
      const db = new AsyncDatabaseManager(databases.freshUrl(driver));
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
        assert.deepEqual({ ...transfer, createdAt: undefined }, { id: transfer.id, from: a.id, to: b.id, amount: 10, createdAt: undefined });
        assert.deepEqual((await db.getAllAccounts()).map((x) => x.balance), [0, 10]);

        const report = await db.usersReport();
        assert.deepEqual(report.domains, [{ domain: 'example.com', users: 1 }]);
        assert.deepEqual(report.accounts, { count: 2, total: 10, min: 0, max: 10 });
        assert.deepEqual(report.transfers, { count: 1, volume: 10 });
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
