// The environment (src/config.ts): one schema for every variable the server, the cluster and the
// CLI read. Each bad value is refused at start with what it must be, exit 2, before anything is
// opened; the defaults are the README's.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { type Config, ConfigError, Environment, readConfig } from '../src/config.ts';

const root = join(import.meta.dirname, '..');
const dir = mkdtempSync(join(tmpdir(), 'users-api-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

type Name = keyof Config;
const NAMES = Object.keys(Environment.properties) as Name[];

/** The problems readConfig() finds in `env`, or [] if it accepts it. */
function problems(env: Record<string, string>): string[] {
  try {
    readConfig(env);
    return [];
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    return error.problems;
  }
}

const ms = 'a whole number of milliseconds from 1 to 3600000';
/** Every variable, what it must be, and values that are not that. */
const RULES: Record<Name, { must: string; bad: string[] }> = {
  HOST: { must: 'an address to listen on', bad: [] }, // any non-empty text; listen() says if it is not an address
  PORT: {
    must: 'a port number from 0 to 65535 (0: any free port)',
    bad: ['65536', '-1', '80.5', '1e3', '0x50', ' 80', '80 ', 'http', '８０'],
  },
  DATABASE_URL: { must: 'a database URL', bad: [] }, // parsed when opened: "Unsupported DATABASE_URL" (exit 1)
  DATA_MODE: { must: 'one of smartasync, smartasync-auto, inline', bad: ['fast', 'Inline', 'smartasync '] },
  LOG_LEVEL: { must: 'one of fatal, error, warn, info, debug, trace, silent', bad: ['loud', 'INFO', '30'] },
  REPORT_COST: {
    must: 'a whole number of PBKDF2 iterations from 1 to 2147483647',
    bad: ['0', '-5', '2147483648', '4e5', '400000.0', 'lots'],
  },
  DB_TIMEOUT_MS: { must: ms, bad: ['0', '3600001', '5s', '1e3', '-1', '99999999999999999999'] },
  DB_SLOW_QUERY_MS: {
    must: 'a whole number of milliseconds from 0 to 3600000 (0: every statement)',
    bad: ['-1', '3600001', '0.5', '1s'],
  },
  DB_POOL_SIZE: { must: 'a whole number of connections from 1 to 1024', bad: ['0', '1025', '1e4', 'ten'] },
  DB_WORKER_NICE: { must: 'a whole number of nice steps from 0 to 19', bad: ['-1', '20', '10.5', 'low'] },
  SHUTDOWN_TIMEOUT_MS: { must: ms, bad: ['0', '10 s', '0x10'] },
  WEB_CONCURRENCY: { must: 'a whole number of processes from 1 to 1024', bad: ['0', '1025', 'auto', '2.0'] },
  HTTP_HEADERS_TIMEOUT_MS: { must: ms, bad: ['0', '10e3', '3600001'] },
  HTTP_REQUEST_TIMEOUT_MS: { must: ms, bad: ['0', '+30000', 'forever'] },
  HTTP_IDLE_TIMEOUT_MS: { must: ms, bad: ['0', '60_000'] },
  HTTP_KEEP_ALIVE_TIMEOUT_MS: { must: ms, bad: ['0', 'keep'] },
};

describe('readConfig', () => {
  test('each bad value is refused, naming the variable, what it must be and the value given', () => {
    assert.deepEqual(Object.keys(RULES).sort(), [...NAMES].sort(), 'every variable has its rule here');
    for (const [name, { must, bad }] of Object.entries(RULES))
      for (const value of bad)
        assert.deepEqual(problems({ [name]: value }), [`${name} must be ${must}, not ${JSON.stringify(value)}`]);
  });

  test('every bad value at once: one line each', () => {
    assert.deepEqual(problems({ PORT: 'http', DATA_MODE: 'fast', DB_TIMEOUT_MS: '0', UNRELATED: 'x' }), [
      `PORT must be ${RULES.PORT.must}, not "http"`,
      `DATA_MODE must be ${RULES.DATA_MODE.must}, not "fast"`,
      `DB_TIMEOUT_MS must be ${ms}, not "0"`,
    ]);
  });

  test('rules between variables', () => {
    assert.deepEqual(problems({ HTTP_HEADERS_TIMEOUT_MS: '40000' }), [
      'HTTP_HEADERS_TIMEOUT_MS (40000) must be at most HTTP_REQUEST_TIMEOUT_MS (30000): the headers are part of the request',
    ]);
    assert.deepEqual(problems({ DB_TIMEOUT_MS: '60000' }), [
      'HTTP_IDLE_TIMEOUT_MS (60000) must be more than DB_TIMEOUT_MS + 2000 (62000): a request may wait that long for the database, silent, before it is answered',
    ]);
    assert.deepEqual(problems({ DB_TIMEOUT_MS: '60000', HTTP_IDLE_TIMEOUT_MS: '62001' }), []);
  });

  test('good values are read as numbers; empty means unset; only the names asked for are read', () => {
    const config = readConfig({ PORT: '0', DB_POOL_SIZE: '3', REPORT_COST: '1000', DATA_MODE: 'inline', HOST: '' });
    assert.equal(config.PORT, 0);
    assert.equal(config.DB_POOL_SIZE, 3);
    assert.equal(config.REPORT_COST, 1000);
    assert.equal(config.DATA_MODE, 'inline');
    assert.equal(config.HOST, '127.0.0.1');
    assert.deepEqual(readConfig({ PORT: 'bad', DB_TIMEOUT_MS: '250' }, ['DATABASE_URL', 'DB_TIMEOUT_MS']), {
      DATABASE_URL: 'sqlite:users.db',
      DB_TIMEOUT_MS: 250,
    });
  });

  test("the defaults are the README's", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const table = readme.slice(readme.indexOf('| variable'), readme.indexOf('\n\n', readme.indexOf('| variable')));
    const documented = new Map(
      [...table.matchAll(/^\| `([A-Z_]+)` +\| ([^|]+?) +\|/gm)].map(([, name, value]) => [name!, value!]),
    );
    assert.deepEqual([...documented.keys()].sort(), [...NAMES].sort(), 'the README lists every variable, and no other');
    const defaults = readConfig({});
    for (const name of NAMES) {
      const value = defaults[name];
      const cell = documented.get(name)!;
      if (value === undefined) assert.match(cell, /^\(/, `${name}: unset by default, the README says how`);
      else assert.equal(cell, `\`${value}\``, name);
    }
  });
});

/** Runs `entry` with `env` (and a database URL in this test's directory), as `npm start` would. */
function run(entry: string, env: Record<string, string>, ...args: string[]) {
  const result = spawnSync(process.execPath, [entry, ...args], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: `sqlite:${join(dir, 'never.db')}`, PORT: '0', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('at start', () => {
  const bad = { PORT: '99999', REPORT_COST: 'abc', DATA_MODE: 'fast', HTTP_REQUEST_TIMEOUT_MS: '1e3' };
  const lines = [
    `users-api cannot start: PORT must be ${RULES.PORT.must}, not "99999"`,
    `users-api cannot start: DATA_MODE must be ${RULES.DATA_MODE.must}, not "fast"`,
    `users-api cannot start: REPORT_COST must be ${RULES.REPORT_COST.must}, not "abc"`,
    `users-api cannot start: HTTP_REQUEST_TIMEOUT_MS must be ${ms}, not "1e3"`,
  ];

  test('the server exits 2 with one line per bad value, and opens nothing', () => {
    const result = run('src/main.ts', bad);
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(result.stderr.trimEnd().split('\n'), lines);
    assert.equal(existsSync(join(dir, 'never.db')), false, 'the database was not opened');
  });

  test('so does the cluster, in its primary, before it forks', () => {
    const result = run('src/cluster.ts', { ...bad, WEB_CONCURRENCY: '0' });
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(
      result.stderr.trimEnd().split('\n').sort(),
      [...lines, `users-api cannot start: WEB_CONCURRENCY must be ${RULES.WEB_CONCURRENCY.must}, not "0"`].sort(),
    );
    assert.equal(result.stdout, '', 'no process was started');
  });

  test('the CLI reads DATABASE_URL and DB_TIMEOUT_MS only: exit 2 for a bad timeout, a bad PORT is not its business', () => {
    const result = run('src/cli.ts', { DB_TIMEOUT_MS: '5s' }, 'list');
    assert.equal(result.code, 2);
    assert.match(result.stderr, new RegExp(`^error: DB_TIMEOUT_MS must be ${ms}, not "5s"\\n\\nUsage: `));
    assert.equal(existsSync(join(dir, 'never.db')), false);
    const listed = run('src/cli.ts', { PORT: 'http', DATABASE_URL: `sqlite:${join(dir, 'cli.db')}` }, 'list');
    assert.deepEqual([listed.code, listed.stdout.trim()], [0, 'No users.']);
  });
});
