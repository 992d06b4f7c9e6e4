// The admin CLI end to end, as a user runs it, on each driver.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DRIVERS, type TestDatabases, needs, testDatabases } from './support/databases.ts';

const root = join(import.meta.dirname, '..');

let databases: TestDatabases;
before(async () => {
  databases = await testDatabases();
});
after(() => databases?.stop());

/** Runs the CLI as a user would: its exit code and trimmed output. Asynchronous, so that suites overlap. */
function cli(url: string, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['src/cli.ts', ...args], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: url },
      timeout: 30_000,
    });
    let [stdout, stderr] = ['', ''];
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
}

// Each suite is a string of CLI processes on its own database: the suites overlap, as the CLI's
// start-up is most of each step.
describe('the CLI', { concurrency: 3 }, () => {
  for (const driver of DRIVERS) {
    describe(driver, needs(driver), () => {
      test('add-user, list, delete-user, and the refusals', async () => {
        const url = databases.freshUrl(driver);
        assert.deepEqual(await cli(url, 'list'), { code: 0, stdout: 'No users.', stderr: '' });

        const added = await cli(url, 'add-user', 'Alice', 'alice@example.com');
        assert.deepEqual(added, { code: 0, stdout: 'Created user 1: Alice <alice@example.com>', stderr: '' });
        assert.equal((await cli(url, 'add-user', 'Bob Stone', 'bob@example.org')).code, 0);
        assert.deepEqual(await cli(url, 'list'), {
          code: 0,
          stdout: '1  Alice <alice@example.com>\n2  Bob Stone <bob@example.org>',
          stderr: '',
        });

        const duplicate = await cli(url, 'add-user', 'Alice Again', 'alice@example.com');
        assert.equal(duplicate.code, 1);
        assert.equal(duplicate.stdout, '');
        assert.equal(duplicate.stderr, 'error: A user with email alice@example.com already exists');

        assert.deepEqual(await cli(url, 'delete-user', '1'), { code: 0, stdout: 'Deleted user 1', stderr: '' });
        const missing = await cli(url, 'delete-user', '1');
        assert.deepEqual(missing, { code: 1, stdout: '', stderr: 'error: User 1 not found' });
        assert.deepEqual(await cli(url, 'list'), { code: 0, stdout: '2  Bob Stone <bob@example.org>', stderr: '' });
      });

      test('export: every user as NDJSON, or CSV with --csv, streamed with .sync()', async () => {
        const url = databases.freshUrl(driver);
        assert.deepEqual(await cli(url, 'export'), { code: 0, stdout: '', stderr: '' }, 'nothing to export');
        assert.deepEqual(await cli(url, 'export', '--csv'), { code: 0, stdout: 'id,name,email', stderr: '' });
        for (const [name, email] of [
          ['Alice', 'alice@example.com'],
          ['Bob, "the builder"', 'bob@example.org'],
          ['=cmd|calc', 'eve@example.net'],
        ] as const)
          assert.equal((await cli(url, 'add-user', name, email)).code, 0);
        const ndjson = await cli(url, 'export');
        assert.equal(ndjson.code, 0, ndjson.stderr);
        assert.deepEqual(
          ndjson.stdout.split('\n').map((line) => JSON.parse(line) as unknown),
          [
            { id: 1, name: 'Alice', email: 'alice@example.com' },
            { id: 2, name: 'Bob, "the builder"', email: 'bob@example.org' },
            { id: 3, name: '=cmd|calc', email: 'eve@example.net' },
          ],
        );
        assert.deepEqual(await cli(url, 'export', '--csv'), {
          code: 0,
          stdout: [
            'id,name,email',
            '1,Alice,alice@example.com',
            '2,"Bob, ""the builder""",bob@example.org',
            "3,'=cmd|calc,eve@example.net",
          ].join('\n'),
          stderr: '',
        });
      });

      test('ids: the largest valid id is a plain "not found"; past it is a usage error, never a stack', async () => {
        const url = databases.freshUrl(driver);
        assert.deepEqual(await cli(url, 'delete-user', '2147483647'), {
          code: 1,
          stdout: '',
          stderr: 'error: User 2147483647 not found',
        });
        for (const id of ['2147483648', '99999999999']) {
          const result = await cli(url, 'delete-user', id);
          assert.equal(result.code, 2, id);
          assert.match(
            result.stderr,
            new RegExp(`^error: user id must be a decimal integer from 1 to 2147483647, not "${id}"`),
          );
          assert.doesNotMatch(result.stderr, /^\s+at /m);
        }
        const duplicate = await cli(url, 'add-user', 'Case', 'CASE@example.com');
        assert.equal(duplicate.code, 0);
        assert.deepEqual(await cli(url, 'add-user', 'Case 2', 'case@EXAMPLE.com'), {
          code: 1,
          stdout: '',
          stderr: 'error: A user with email case@EXAMPLE.com already exists',
        });
      });
    });
  }

  describe('usage and unreachable databases', () => {
    test('bad usage exits 2 with the usage text', async () => {
      const url = databases.freshUrl('better-sqlite3');
      const bad = [
        ['frobnicate'],
        ['add-user', 'OnlyName'],
        ['delete-user', 'abc'],
        ['add-user', 'Bad', 'not-an-email'],
        // Names that draw nothing (issue 15, defect 11).
        ['add-user', '\u3164', 'hangul@example.com'],
        ['add-user', '\u2800', 'braille@example.com'],
      ];
      const results = await Promise.all(bad.map((args) => cli(url, ...args)));
      results.forEach((result, i) => {
        assert.equal(result.code, 2, bad[i]!.join(' '));
        assert.match(result.stderr, /^error: .+\n\nUsage: npm run cli -- <command>/, bad[i]!.join(' '));
      });
      // Refused before the database is opened: nothing was created, let alone migrated.
      assert.equal(existsSync(url.slice('sqlite:'.length)), false, 'a usage error created the database');
      const help = await cli(url, 'help');
      assert.equal(help.code, 0);
      assert.match(help.stdout, /add-user <name> <email>/);
    });

    test("--help, -h and help <command>: that command's usage, exit 0, without opening the database", async () => {
      const nowhere = 'sqlite:/nonexistent/dir/users.db';
      for (const [command, usage] of [
        ['list', 'list'],
        ['add-user', 'add-user <name> <email>'],
        ['delete-user', 'delete-user <id>'],
        ['export', 'export [--csv]'],
        ['migrate', 'migrate'],
      ]) {
        const help = await cli(nowhere, command!, '--help');
        assert.equal(help.code, 0, `${command} --help: ${help.stderr}`);
        assert.equal(help.stderr, '');
        assert.ok(help.stdout.startsWith(`Usage: npm run cli -- ${usage}\n\n`), help.stdout);
        assert.match(help.stdout, /\nExit codes: 0 done, 1 refused/);
        if (command === 'export') {
          assert.match(help.stdout, /\n {2}--csv {2}CSV instead of NDJSON\n/);
          // The other two spellings, for one command: the same text.
          assert.deepEqual(await cli(nowhere, command, '-h'), help);
          assert.deepEqual(await cli(nowhere, 'help', command), help);
        }
      }
      for (const args of [[], ['-h']]) {
        const usage = await cli(nowhere, ...args);
        assert.equal(usage.code, 0);
        assert.match(usage.stdout, /^Usage: npm run cli -- <command> \[--help\]\n\nCommands:\n {2}list /);
      }
    });

    test('options a command does not have, and values for flags, are usage errors (exit 2)', async () => {
      const url = databases.freshUrl('better-sqlite3');
      for (const [args, message] of [
        [['list', '--all'], 'list has no option --all: list'],
        [['delete-user', '1', '--force'], 'delete-user has no option --force: delete-user <id>'],
        [['export', '--csv=yes'], '--csv takes no value: export [--csv]'],
        [['export', '--tsv'], 'export has no option --tsv: export [--csv]'],
        [['list', 'extra'], 'list takes no argument: list'],
        [['help', 'frobnicate'], 'help takes a command name: one of list, add-user, delete-user, export, migrate'],
      ] as const) {
        const result = await cli(url, ...args);
        assert.equal(result.code, 2, args.join(' '));
        assert.ok(result.stderr.startsWith(`error: ${message}\n\nUsage: npm run cli -- <command>`), result.stderr);
      }
      // After "--", what looks like an option is an argument.
      assert.deepEqual(await cli(url, 'add-user', '--', '-Eve-', 'eve@example.com'), {
        code: 0,
        stdout: 'Created user 1: -Eve- <eve@example.com>',
        stderr: '',
      });
    });

    test('ids are decimal integers: anything else is a usage error (exit 2) and deletes nothing', async () => {
      const url = databases.freshUrl('better-sqlite3');
      assert.equal((await cli(url, 'migrate')).code, 0);
      // Users 1 to 20, so that every misreading below (1e1 as 10, 0x10 as 16, ...) has one to delete.
      const db = new DatabaseSync(url.slice('sqlite:'.length));
      const insert = db.prepare('INSERT INTO users (name, email) VALUES (?, ?)');
      for (let i = 0; i < 20; i++) insert.run(`U${i}`, `u${i}@example.com`);
      db.close();
      const ids = ['1e1', '0x10', '0o7', '0b1', '1.0', '1.', '-1', '+1', '0', '01', ' 1', '1 ', '', 'Infinity', '１'];
      const results = await Promise.all(ids.map((id) => cli(url, 'delete-user', id)));
      results.forEach((result, i) => {
        assert.equal(result.code, 2, JSON.stringify(ids[i]));
        assert.match(
          result.stderr,
          /^error: user id must be a decimal integer from 1 to 2147483647, not /,
          JSON.stringify(ids[i]),
        );
      });
      assert.equal((await cli(url, 'list')).stdout.split('\n').length, 20, 'nothing deleted');
    });

    test('a database whose schema cannot be upgraded exits 3 with the reason, not a stack', async () => {
      const path = databases.freshUrl('better-sqlite3').slice('sqlite:'.length);
      const old = new DatabaseSync(path);
      old.exec(
        "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE); INSERT INTO users (name, email) VALUES ('a', 'X@y.test'), ('b', 'x@Y.test')",
      );
      old.close();
      const result = await cli(`sqlite:${path}`, 'list');
      assert.equal(result.code, 3);
      assert.match(
        result.stderr,
        /^error: The database cannot be brought up to this version's schema: emails must be unique ignoring case, but x@y\.test \(2 users\)/,
      );
      assert.doesNotMatch(result.stderr, /^\s+at /m);
    });

    test('an unreachable database exits 3 and says which', async () => {
      const refused = await cli('postgres://app:secret@127.0.0.1:1/users', 'list');
      assert.equal(refused.code, 3);
      assert.match(
        refused.stderr,
        /^error: Database postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/users is unavailable: .*refused/s,
      );
      assert.doesNotMatch(refused.stderr, /secret/);

      const noDir = await cli('sqlite:/nonexistent/dir/users.db', 'list');
      assert.equal(noDir.code, 3);
      assert.match(noDir.stderr, /^error: Database sqlite:\/nonexistent\/dir\/users\.db is unavailable: /);

      // The async drivers fail on the first call, on the bridge worker: the error crosses back as its class.
      for (const [url, shown] of [
        ['mysql://app:secret@127.0.0.1:1/users', 'mysql://app:\\*\\*\\*@127\\.0\\.0\\.1:1/users'],
        ['postgres+pg://app:secret@127.0.0.1:1/users', 'postgresql://app:\\*\\*\\*@127\\.0\\.0\\.1:1/users'],
      ] as const) {
        const asyncRefused = await cli(url, 'list');
        assert.equal(asyncRefused.code, 3, url);
        assert.match(asyncRefused.stderr, new RegExp(`^error: Database ${shown} is unavailable: .*ECONNREFUSED`, 's'));
        assert.doesNotMatch(asyncRefused.stderr, /secret/);
      }

      const badScheme = await cli('oracle://localhost/users', 'list');
      assert.equal(badScheme.code, 3);
      assert.match(badScheme.stderr, /Unsupported DATABASE_URL/);
    });

    test('npm run cli works from the workspace', async () => {
      const url = databases.freshUrl('node-sqlite');
      const result = spawnSync('npm', ['run', '--silent', 'cli', '--', 'add-user', 'Npm', 'npm@example.com'], {
        cwd: root,
        env: { ...process.env, DATABASE_URL: url },
        encoding: 'utf8',
        timeout: 30_000,
      });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stdout.trim(), 'Created user 1: Npm <npm@example.com>');
    });
  });
});
