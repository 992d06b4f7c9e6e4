// The admin CLI end to end, as a user runs it, on each driver.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

function cli(url: string, ...args: string[]) {
  const result = spawnSync(process.execPath, ['src/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

for (const driver of DRIVERS) {
  describe(driver, needs(driver), () => {
    test('add-user, list, delete-user, and the refusals', () => {
      const url = databases.freshUrl(driver);
      assert.deepEqual(cli(url, 'list'), { code: 0, stdout: 'No users.', stderr: '' });

      const added = cli(url, 'add-user', 'Alice', 'alice@example.com');
      assert.deepEqual(added, { code: 0, stdout: 'Created user 1: Alice <alice@example.com>', stderr: '' });
      assert.equal(cli(url, 'add-user', 'Bob Stone', 'bob@example.org').code, 0);
      assert.deepEqual(cli(url, 'list'), {
        code: 0,
        stdout: '1  Alice <alice@example.com>\n2  Bob Stone <bob@example.org>',
        stderr: '',
      });

      const duplicate = cli(url, 'add-user', 'Alice Again', 'alice@example.com');
      assert.equal(duplicate.code, 1);
      assert.equal(duplicate.stdout, '');
      assert.equal(duplicate.stderr, 'error: A user with email alice@example.com already exists');

      assert.deepEqual(cli(url, 'delete-user', '1'), { code: 0, stdout: 'Deleted user 1', stderr: '' });
      const missing = cli(url, 'delete-user', '1');
      assert.deepEqual(missing, { code: 1, stdout: '', stderr: 'error: User 1 not found' });
      assert.deepEqual(cli(url, 'list'), { code: 0, stdout: '2  Bob Stone <bob@example.org>', stderr: '' });
    });

    test('export: every user as NDJSON, or CSV with --csv, streamed with .sync()', () => {
      const url = databases.freshUrl(driver);
      assert.deepEqual(cli(url, 'export'), { code: 0, stdout: '', stderr: '' }, 'nothing to export');
      assert.deepEqual(cli(url, 'export', '--csv'), { code: 0, stdout: 'id,name,email', stderr: '' });
      for (const [name, email] of [
        ['Alice', 'alice@example.com'],
        ['Bob, "the builder"', 'bob@example.org'],
        ['=cmd|calc', 'eve@example.net'],
      ] as const)
        assert.equal(cli(url, 'add-user', name, email).code, 0);
      const ndjson = cli(url, 'export');
      assert.equal(ndjson.code, 0, ndjson.stderr);
      assert.deepEqual(
        ndjson.stdout.split('\n').map((line) => JSON.parse(line) as unknown),
        [
          { id: 1, name: 'Alice', email: 'alice@example.com' },
          { id: 2, name: 'Bob, "the builder"', email: 'bob@example.org' },
          { id: 3, name: '=cmd|calc', email: 'eve@example.net' },
        ],
      );
      assert.deepEqual(cli(url, 'export', '--csv'), {
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

    test('ids: the largest valid id is a plain "not found"; past it is a usage error, never a stack', () => {
      const url = databases.freshUrl(driver);
      assert.deepEqual(cli(url, 'delete-user', '2147483647'), {
        code: 1,
        stdout: '',
        stderr: 'error: User 2147483647 not found',
      });
      for (const id of ['2147483648', '99999999999']) {
        const result = cli(url, 'delete-user', id);
        assert.equal(result.code, 2, id);
        assert.match(
          result.stderr,
          new RegExp(`^error: user id must be a decimal integer from 1 to 2147483647, not "${id}"`),
        );
        assert.doesNotMatch(result.stderr, /^\s+at /m);
      }
      const duplicate = cli(url, 'add-user', 'Case', 'CASE@example.com');
      assert.equal(duplicate.code, 0);
      assert.deepEqual(cli(url, 'add-user', 'Case 2', 'case@EXAMPLE.com'), {
        code: 1,
        stdout: '',
        stderr: 'error: A user with email case@EXAMPLE.com already exists',
      });
    });
  });
}

describe('usage and unreachable databases', () => {
  test('bad usage exits 2 with the usage text', () => {
    const url = databases.freshUrl('better-sqlite3');
    for (const args of [
      ['frobnicate'],
      ['add-user', 'OnlyName'],
      ['delete-user', 'abc'],
      ['add-user', 'Bad', 'not-an-email'],
      // Names that draw nothing (issue 15, defect 11).
      ['add-user', '\u3164', 'hangul@example.com'],
      ['add-user', '\u2800', 'braille@example.com'],
    ]) {
      const result = cli(url, ...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /^error: .+\n\nUsage: npm run cli -- <command>/, args.join(' '));
    }
    const help = cli(url, 'help');
    assert.equal(help.code, 0);
    assert.match(help.stdout, /add-user <name> <email>/);
  });

  test("--help, -h and help <command>: that command's usage, exit 0, without opening the database", () => {
    const nowhere = 'sqlite:/nonexistent/dir/users.db';
    for (const [command, usage] of [
      ['list', 'list'],
      ['add-user', 'add-user <name> <email>'],
      ['delete-user', 'delete-user <id>'],
      ['export', 'export [--csv]'],
      ['migrate', 'migrate'],
    ]) {
      const help = cli(nowhere, command!, '--help');
      assert.equal(help.code, 0, `${command} --help: ${help.stderr}`);
      assert.equal(help.stderr, '');
      assert.ok(help.stdout.startsWith(`Usage: npm run cli -- ${usage}\n\n`), help.stdout);
      assert.match(help.stdout, /\nExit codes: 0 done, 1 refused/);
      if (command === 'export') {
        assert.match(help.stdout, /\n {2}--csv {2}CSV instead of NDJSON\n/);
        // The other two spellings, for one command: the same text.
        assert.deepEqual(cli(nowhere, command, '-h'), help);
        assert.deepEqual(cli(nowhere, 'help', command), help);
      }
    }
    for (const args of [[], ['-h']]) {
      const usage = cli(nowhere, ...args);
      assert.equal(usage.code, 0);
      assert.match(usage.stdout, /^Usage: npm run cli -- <command> \[--help\]\n\nCommands:\n {2}list /);
    }
  });

  test('options a command does not have, and values for flags, are usage errors (exit 2)', () => {
    const url = databases.freshUrl('better-sqlite3');
    for (const [args, message] of [
      [['list', '--all'], 'list has no option --all: list'],
      [['delete-user', '1', '--force'], 'delete-user has no option --force: delete-user <id>'],
      [['export', '--csv=yes'], '--csv takes no value: export [--csv]'],
      [['export', '--tsv'], 'export has no option --tsv: export [--csv]'],
      [['list', 'extra'], 'list takes no argument: list'],
      [['help', 'frobnicate'], 'help takes a command name: one of list, add-user, delete-user, export, migrate'],
    ] as const) {
      const result = cli(url, ...args);
      assert.equal(result.code, 2, args.join(' '));
      assert.ok(result.stderr.startsWith(`error: ${message}\n\nUsage: npm run cli -- <command>`), result.stderr);
    }
    // After "--", what looks like an option is an argument.
    assert.deepEqual(cli(url, 'add-user', '--', '-Eve-', 'eve@example.com'), {
      code: 0,
      stdout: 'Created user 1: -Eve- <eve@example.com>',
      stderr: '',
    });
  });

  test('ids are decimal integers: anything else is a usage error (exit 2) and deletes nothing', () => {
    const url = databases.freshUrl('better-sqlite3');
    for (let i = 0; i < 20; i++) assert.equal(cli(url, 'add-user', `U${i}`, `u${i}@example.com`).code, 0);
    for (const id of [
      '1e1',
      '0x10',
      '0o7',
      '0b1',
      '1.0',
      '1.',
      '-1',
      '+1',
      '0',
      '01',
      ' 1',
      '1 ',
      '',
      'Infinity',
      '１',
    ]) {
      const result = cli(url, 'delete-user', id);
      assert.equal(result.code, 2, JSON.stringify(id));
      assert.match(
        result.stderr,
        /^error: user id must be a decimal integer from 1 to 2147483647, not /,
        JSON.stringify(id),
      );
    }
    assert.equal(cli(url, 'list').stdout.split('\n').length, 20, 'nothing deleted');
  });

  test('a database whose schema cannot be upgraded exits 3 with the reason, not a stack', () => {
    const path = databases.freshUrl('better-sqlite3').slice('sqlite:'.length);
    const old = new DatabaseSync(path);
    old.exec(
      "CREATE TABLE users (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE); INSERT INTO users (name, email) VALUES ('a', 'X@y.test'), ('b', 'x@Y.test')",
    );
    old.close();
    const result = cli(`sqlite:${path}`, 'list');
    assert.equal(result.code, 3);
    assert.match(
      result.stderr,
      /^error: The database cannot be brought up to this version's schema: emails must be unique ignoring case, but x@y\.test \(2 users\)/,
    );
    assert.doesNotMatch(result.stderr, /^\s+at /m);
  });

  test('an unreachable database exits 3 and says which', () => {
    const refused = cli('postgres://app:secret@127.0.0.1:1/users', 'list');
    assert.equal(refused.code, 3);
    assert.match(
      refused.stderr,
      /^error: Database postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/users is unavailable: .*refused/s,
    );
    assert.doesNotMatch(refused.stderr, /secret/);

    const noDir = cli('sqlite:/nonexistent/dir/users.db', 'list');
    assert.equal(noDir.code, 3);
    assert.match(noDir.stderr, /^error: Database sqlite:\/nonexistent\/dir\/users\.db is unavailable: /);

    // The async drivers fail on the first call, on the bridge worker: the error crosses back as its class.
    for (const [url, shown] of [
      ['mysql://app:secret@127.0.0.1:1/users', 'mysql://app:\\*\\*\\*@127\\.0\\.0\\.1:1/users'],
      ['postgres+pg://app:secret@127.0.0.1:1/users', 'postgresql://app:\\*\\*\\*@127\\.0\\.0\\.1:1/users'],
    ] as const) {
      const asyncRefused = cli(url, 'list');
      assert.equal(asyncRefused.code, 3, url);
      assert.match(asyncRefused.stderr, new RegExp(`^error: Database ${shown} is unavailable: .*ECONNREFUSED`, 's'));
      assert.doesNotMatch(asyncRefused.stderr, /secret/);
    }

    const badScheme = cli('oracle://localhost/users', 'list');
    assert.equal(badScheme.code, 3);
    assert.match(badScheme.stderr, /Unsupported DATABASE_URL/);
  });

  test('npm run cli works from the workspace', () => {
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
