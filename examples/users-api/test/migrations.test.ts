// The schema through migrations (src/db/migrate.ts, umzug), on each of the five drivers: a
// database made before the version table is upgraded in place, a re-run changes nothing, a
// database a newer version migrated is refused, and instances starting together (worker threads
// released at one instant, CLI processes) apply each migration once.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { release } from 'smartasync';
import { buildApp } from '../src/app.ts';
import { openDataLayer } from '../src/db/async.ts';
import { openBetterSqlite3 } from '../src/db/drivers/better-sqlite3.ts';
import { openPostgres } from '../src/db/drivers/postgres.ts';
import { DatabaseUnavailableError, SchemaVersionError } from '../src/db/errors.ts';
import { migrate } from '../src/db/migrate.ts';
import { MIGRATIONS } from '../src/db/schema-version.ts';
import { dialectOf, DRIVERS, type DriverName, needs, type TestDatabases, testDatabases } from './support/databases.ts';
import { setUpPool, TEST_MODE } from './support/pool.ts';
import { rawQuery } from './support/raw.ts';
import { OLD_TABLES, UNVERSIONED_SCHEMA } from './fixtures/unversioned-schema.ts';

const root = join(import.meta.dirname, '..');

let databases: TestDatabases;
before(async () => {
  setUpPool();
  databases = await testDatabases();
});
after(() => databases?.stop());

const versions = async (driver: DriverName, url: string) =>
  (await rawQuery(driver, url, 'SELECT name, applied_at FROM schema_migrations ORDER BY name')).map((row) => ({
    name: String(row.name),
    appliedAt: String(row.applied_at),
  }));

/** A connection holding what a migration of `url` must take: the write lock on SQLite, the advisory lock on PostgreSQL. */
function openHolder(driver: 'better-sqlite3' | 'postgres', url: string) {
  if (driver === 'better-sqlite3') {
    const db = openBetterSqlite3(url.slice('sqlite:'.length), 1000);
    db.exec('BEGIN IMMEDIATE');
    return { close: () => (db.exec('ROLLBACK'), db.close()) };
  }
  const db = openPostgres(url, 1000);
  db.all('SELECT pg_advisory_lock(7261003)');
  return { close: () => db.close() };
}

/** `count` worker threads, released at one instant, each migrating `url`; what each applied. */
async function migrateTogether(url: string, count: number): Promise<string[][]> {
  const gate = new SharedArrayBuffer(8);
  const flags = new Int32Array(gate);
  const workers = Array.from(
    { length: count },
    () => new Worker(new URL('./fixtures/migrate-worker.ts', import.meta.url), { workerData: { url, gate } }),
  );
  const results = workers.map((worker) =>
    once(worker, 'message').then(([message]) => message as { applied?: string[]; error?: string }),
  );
  // Each has loaded the migrations and waits: release them all at once.
  while (Atomics.load(flags, 1) < count) await new Promise((r) => setTimeout(r, 5));
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  const settled = await Promise.all(results);
  await Promise.all(workers.map((worker) => worker.terminate()));
  assert.deepEqual(
    settled.filter((r) => r.error),
    [],
    'no instance failed',
  );
  return settled.map((r) => r.applied!);
}

// The drivers' suites overlap, two at a time: each checks what a migration did, not how fast.
describe('each driver', { concurrency: 2 }, () => {
  for (const driver of DRIVERS) {
    const dialect = dialectOf(driver);
    const known = MIGRATIONS[dialect].map((m) => m.name);

    describe(`${driver}: migrations`, needs(driver), () => {
      test("a database made before the version table (today's schema) is upgraded: recorded, data kept, rules kept", async () => {
        const url = databases.freshUrl(driver);
        await rawQuery(driver, url, UNVERSIONED_SCHEMA[dialect]);
        await rawQuery(
          driver,
          url,
          "INSERT INTO users (name, email) VALUES ('Old', 'Old@Example.com'); INSERT INTO accounts (owner, balance) VALUES ('Old', 100), ('Other', 0); " +
            "INSERT INTO transfers (from_account, to_account, amount, created_at) VALUES (1, 2, 40, '2026-01-01T00:00:00.000Z'); UPDATE accounts SET balance = 60 WHERE id = 1; UPDATE accounts SET balance = 40 WHERE id = 2",
        );
        const result = await migrate(url);
        assert.deepEqual(result, { applied: known, version: known.at(-1) });
        assert.deepEqual(
          (await versions(driver, url)).map((v) => v.name),
          known,
        );

        // The app runs on it, its data intact and its rules in force.
        const app = await buildApp({ databaseUrl: url, mode: TEST_MODE, reportCost: 1000 });
        try {
          const users = await app.inject({ method: 'GET', url: '/users' });
          assert.deepEqual(users.json(), [{ id: 1, name: 'Old', email: 'Old@Example.com' }]);
          const twin = await app.inject({
            method: 'POST',
            url: '/users',
            payload: { name: 'Twin', email: 'old@example.COM' },
          });
          assert.equal(twin.statusCode, 400, 'emails stay unique ignoring case');
          const report = await app.inject({ method: 'GET', url: '/reports/users' });
          assert.deepEqual(report.json().accounts, { count: 2, total: 100, min: 40, max: 60 });
          assert.deepEqual(report.json().transfers, { count: 1, volume: '40' });
        } finally {
          await app.close();
        }
        await assert.rejects(
          rawQuery(driver, url, "INSERT INTO accounts (owner, balance) VALUES ('bad', 9007199254740992)"),
          /balance/,
        );
      });

      test('a second run applies nothing and changes nothing; so does the CLI', async () => {
        const url = databases.freshUrl(driver);
        assert.deepEqual((await migrate(url)).applied, known);
        const recorded = await versions(driver, url);
        assert.deepEqual(await migrate(url), { applied: [], version: known.at(-1) });
        const cli = spawnSync(process.execPath, ['src/cli.ts', 'migrate'], {
          cwd: root,
          env: { ...process.env, DATABASE_URL: url },
          encoding: 'utf8',
          timeout: 30_000,
        });
        assert.deepEqual(
          [cli.status, cli.stdout.trim(), cli.stderr],
          [0, `Nothing to apply: the schema is at ${known.at(-1)}.`, ''],
        );
        assert.deepEqual(await versions(driver, url), recorded, 'same rows, same times');
      });

      test('a database a newer version migrated is refused, by migrate() and the data layer alike, and left as it is', async () => {
        const url = databases.freshUrl(driver);
        await migrate(url);
        await rawQuery(
          driver,
          url,
          "INSERT INTO schema_migrations (name, applied_at) VALUES ('9999-from-a-newer-version', '2030-01-01T00:00:00.000Z')",
        );
        const recorded = await versions(driver, url);
        const newer = (e: unknown) => {
          assert.ok(e instanceof SchemaVersionError, String(e));
          assert.equal(e.code, 'SCHEMA_VERSION');
          assert.match(
            e.message,
            new RegExp(
              `^The database's schema does not match this version of users-api: .+ has migration 9999-from-a-newer-version, unknown to this version \\(it knows up to ${known.at(-1)}\\): a newer version of the app upgraded it\\. Run that version, or restore a backup taken before the upgrade\\.$`,
            ),
          );
          return true;
        };
        await assert.rejects(migrate(url), newer);
        await assert.rejects(buildApp({ databaseUrl: url, mode: TEST_MODE }), newer);
        // Opened without migrating, as a worker's replica is: refused on the first call.
        const db = (() => {
          try {
            return openDataLayer(url);
          } catch (error) {
            newer(error);
            return undefined;
          }
        })();
        if (db) {
          try {
            await assert.rejects(
              Promise.resolve().then(() => db.getAllUsers()),
              newer,
            );
          } finally {
            await release(db);
          }
        }
        assert.deepEqual(await versions(driver, url), recorded);
      });

      if (dialect !== 'mysql') {
        test('a refused upgrade changes nothing: no version table, no new object', async () => {
          const url = databases.freshUrl(driver);
          await rawQuery(driver, url, OLD_TABLES[dialect]);
          await rawQuery(
            driver,
            url,
            "INSERT INTO users (name, email) VALUES ('a', 'Twin@x.test'), ('b', 'twin@x.test')",
          );
          await assert.rejects(migrate(url), /emails must be unique ignoring case, but twin@x\.test \(2 users\)/);
          const present = {
            sqlite:
              "SELECT name FROM sqlite_master WHERE name IN ('schema_migrations', 'accounts_balance_on_insert', 'users_email_ci')",
            postgres:
              "SELECT relname AS name FROM pg_class WHERE relname IN ('schema_migrations', 'users_email_ci') UNION SELECT conname FROM pg_constraint WHERE conname = 'accounts_balance_exact'",
          }[dialect];
          assert.deepEqual(await rawQuery(driver, url, present), [], 'rolled back whole');
        });
      }

      test('instances starting together apply each migration once: 4 worker threads released at one instant', async () => {
        for (const start of ['empty', 'unversioned'] as const) {
          const url = databases.freshUrl(driver);
          if (start === 'unversioned') await rawQuery(driver, url, UNVERSIONED_SCHEMA[dialect]);
          const applied = await migrateTogether(url, 4);
          assert.deepEqual(applied.flat().sort(), known, `${start}: each applied by exactly one instance`);
          assert.deepEqual(
            (await versions(driver, url)).map((v) => v.name),
            known,
          );
          assert.deepEqual(await migrate(url), { applied: [], version: known.at(-1) });
        }
      });
    });
  }
});

describe('the lock', () => {
  test('a current database is only looked at: a start does not wait for a writer; a migration does', async () => {
    for (const driver of ['better-sqlite3', 'postgres'] as const) {
      const current = databases.freshUrl(driver);
      await migrate(current);
      for (const [url, wanted] of [
        [current, 'checked'],
        [databases.freshUrl(driver), 'waits'],
      ] as const) {
        // Another connection holds what a migration takes: SQLite's write lock, the advisory lock.
        const holder = openHolder(driver, url);
        try {
          const outcome = await migrate(url, { databaseTimeoutMs: 300 }).then(
            (result) => (result.applied.length === 0 ? 'checked' : 'applied'),
            (error: Error) => (error instanceof DatabaseUnavailableError ? 'waits' : String(error)),
          );
          assert.equal(outcome, wanted, `${driver}, ${wanted === 'checked' ? 'current' : 'fresh'} database`);
        } finally {
          holder.close();
        }
      }
    }
  });
});

describe('the server and the CLI at start', () => {
  test('a newer schema: the server exits 1 and the CLI 3, each saying why', async () => {
    const url = databases.freshUrl('better-sqlite3');
    await migrate(url);
    await rawQuery(
      'better-sqlite3',
      url,
      "INSERT INTO schema_migrations (name, applied_at) VALUES ('9999-from-a-newer-version', '2030-01-01T00:00:00.000Z')",
    );
    const server = spawn(process.execPath, ['src/main.ts'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    server.stderr.on('data', (chunk) => (stderr += chunk));
    const [code] = (await once(server, 'exit')) as [number];
    assert.equal(code, 1);
    assert.match(
      stderr,
      /^users-api failed to start: The database's schema does not match this version of users-api: sqlite:.* has migration 9999-from-a-newer-version, unknown to this version/,
    );
    for (const command of ['list', 'migrate']) {
      const cli = spawnSync(process.execPath, ['src/cli.ts', command], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: url },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(cli.status, 3, cli.stderr);
      assert.match(
        cli.stderr,
        /^error: The database's schema does not match this version of users-api: .* unknown to this version/,
      );
    }
  });

  for (const driver of ['better-sqlite3', 'mysql'] as const)
    test(
      `4 CLI processes migrating one fresh ${driver} database at once: all succeed, each migration applied once`,
      needs(driver),
      async () => {
        const url = databases.freshUrl(driver);
        const runs = await Promise.all(
          Array.from({ length: 4 }, async () => {
            const child = spawn(process.execPath, ['src/cli.ts', 'migrate'], {
              cwd: root,
              env: { ...process.env, DATABASE_URL: url },
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let output = '';
            child.stdout.on('data', (chunk) => (output += chunk));
            child.stderr.on('data', (chunk) => (output += chunk));
            const [code] = (await once(child, 'exit')) as [number];
            return { code, output: output.trim() };
          }),
        );
        assert.deepEqual(
          runs.map((r) => r.code),
          [0, 0, 0, 0],
          JSON.stringify(runs),
        );
        const known = MIGRATIONS[dialectOf(driver)].map((m) => m.name);
        const applied = runs.flatMap((r) => /^Applied (.*): the schema/.exec(r.output)?.[1]?.split(', ') ?? []);
        assert.deepEqual(applied.sort(), known, JSON.stringify(runs));
        assert.deepEqual(
          (await versions(driver, url)).map((v) => v.name),
          known,
        );
      },
    );
});
