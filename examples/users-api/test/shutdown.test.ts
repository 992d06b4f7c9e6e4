// The server process as `npm start` runs it: listens, logs one line per request, and on
// SIGTERM/SIGINT finishes what is in flight, then closes the pool and exits 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WARM_ROUNDS } from '../src/app.ts';
import { testDatabases, type TestDatabases } from './support/databases.ts';
import { exitWithin, json, load, type Server, startServer } from './support/server.ts';

const root = join(import.meta.dirname, '..');

let databases: TestDatabases;
before(async () => {
  databases = await testDatabases({ mariadb: false });
});
after(() => databases?.stop());

async function waitFor(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('start-up: workers, their connections and the read routes are warm before the server listens', async () => {
  const server = await startServer({ DATABASE_URL: databases.freshUrl('better-sqlite3') });
  try {
    // The first thing asked of the server: nothing has called the pool from outside yet.
    const metrics = await (await fetch(`${server.base}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    assert.ok(value('smartasync_pool_workers') >= 2, `${value('smartasync_pool_workers')} workers at start-up`);
    assert.ok(value('smartasync_pool_completed_calls_total') >= 2, 'the warm-up requests ran their queries on workers');
    const requests = Number(
      /^http_requests_total\{method="GET",route="\/users\/:id",status_code="404"\} (\d+)$/m.exec(metrics)?.[1],
    );
    assert.equal(requests, WARM_ROUNDS, `the user route ran (${WARM_ROUNDS} times, over real HTTP) before listening`);
    assert.deepEqual(
      server.logs.filter((l) => l.url !== undefined && l.url !== '/metrics'),
      [],
      'warm-up requests are not in the access log',
    );
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: in-flight requests finish, new ones are refused, the process exits 0`, async () => {
    const server = await startServer({ DATABASE_URL: databases.freshUrl('better-sqlite3'), REPORT_COST: '4000000' });
    try {
      const created = await fetch(`${server.base}/users`, json({ name: 'Before', email: 'before@example.com' }));
      assert.equal(created.status, 201);

      const inFlight = fetch(`${server.base}/reports/users`).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { users: number },
      }));
      await waitFor(
        async () => /^smartasync_pool_running_calls [1-9]/m.test(await (await fetch(`${server.base}/metrics`)).text()),
        'the report to be running on a worker',
      );
      server.child.kill(signal);

      const report = await inFlight;
      assert.equal(report.status, 200);
      assert.equal(report.body.users, 1);
      const [code, killedBy] = await server.exited;
      assert.deepEqual([code, killedBy], [0, null]);
      await assert.rejects(fetch(`${server.base}/health`), 'nothing listens any more');

      const messages = server.logs.map((l) => l.msg);
      assert.ok(messages.includes(`${signal}: finishing in-flight requests, then closing`));
      assert.equal(messages.at(-1), 'closed');
      // One access-log line per request, written when it completes.
      const access = server.logs.filter((l) => l.statusCode !== undefined);
      assert.deepEqual(
        access.filter((l) => l.url !== '/metrics').map((l) => `${l.method} ${l.url} ${l.statusCode}`),
        ['POST /users 201', 'GET /reports/users 200'],
      );
      assert.ok(access.every((l) => typeof l.ms === 'number'));
    } finally {
      server.child.kill('SIGKILL');
    }
  });
}

test('an unusable DATABASE_URL stops start-up with a clear message and exit code 1', async () => {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: { ...process.env, PORT: '0', DATABASE_URL: 'sqlite:/nonexistent/dir/users.db' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const [code] = await once(child, 'exit');
  assert.equal(code, 1);
  assert.match(stderr, /^users-api failed to start: Database sqlite:\/nonexistent\/dir\/users\.db is unavailable: /);
});

// PostgreSQL under load, with the database frozen (SIGSTOP on the server and its backends) or
// healthy: whatever a worker is blocked in, the shutdown deadline and a second signal end the
// process, and no exit aborts (a libpq socket watcher left open on a worker's loop used to end
// it with "uv_loop_close() while having open handles", exit 134).
describe('postgres: shutdown whatever the database does', () => {
  const SHUTDOWN_TIMEOUT_MS = 3000;
  let url: string;
  before(() => {
    url = databases.freshUrl('postgres');
  });
  after(() => databases.postgres.thaw());

  async function loaded(): Promise<{ server: Server; traffic: ReturnType<typeof load> }> {
    const server = await startServer({ DATABASE_URL: url, SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS) });
    assert.equal(
      (await fetch(`${server.base}/users`, json({ name: 'Load', email: `load${Date.now()}@example.com` }))).status,
      201,
    );
    const traffic = load(() => fetch(`${server.base}/users`));
    // Every worker holds a connection and the four clients keep them busy.
    while (Object.values(traffic.statuses).reduce((a, b) => a + b, 0) < 40) await new Promise((r) => setTimeout(r, 20));
    return { server, traffic };
  }

  const noAbort = (server: Server) => assert.doesNotMatch(server.stderr(), /Assertion failed|uv_loop_close|Aborted/);

  test('frozen database: SIGTERM ends the process by the shutdown deadline; no abort when the database comes back', async () => {
    const { server, traffic } = await loaded();
    try {
      databases.postgres.freeze();
      await new Promise((r) => setTimeout(r, 300));
      const signalled = performance.now();
      server.child.kill('SIGTERM');
      const exit = await exitWithin(server, SHUTDOWN_TIMEOUT_MS + 3000);
      const tookMs = performance.now() - signalled;
      databases.postgres.thaw();
      assert.notEqual(
        exit,
        'still running',
        `still running ${tookMs.toFixed(0)} ms after SIGTERM (deadline ${SHUTDOWN_TIMEOUT_MS} ms)`,
      );
      const [code, signal] = exit as [number | null, NodeJS.Signals | null];
      assert.equal(signal, null, `killed by ${signal}: ${server.stderr()}`);
      assert.ok(code === 0 || code === 1, `exit code ${code}`);
      noAbort(server);
    } finally {
      databases.postgres.thaw();
      await traffic.stop();
      server.child.kill('SIGKILL');
    }
  });

  test('frozen database: a second SIGTERM ends the process at once', async () => {
    const { server, traffic } = await loaded();
    try {
      databases.postgres.freeze();
      await new Promise((r) => setTimeout(r, 300));
      server.child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      const second = performance.now();
      server.child.kill('SIGTERM');
      const exit = await exitWithin(server, 1500);
      const tookMs = performance.now() - second;
      databases.postgres.thaw();
      assert.notEqual(exit, 'still running', `still running ${tookMs.toFixed(0)} ms after the second SIGTERM`);
      assert.deepEqual(exit, [1, null], server.stderr());
      assert.ok(server.logs.some((l) => l.msg === 'SIGTERM again: exiting without waiting'));
      noAbort(server);
    } finally {
      databases.postgres.thaw();
      await traffic.stop();
      server.child.kill('SIGKILL');
    }
  });

  test('healthy database under load: two SIGTERMs, at any spacing, end the process without an abort', async () => {
    for (const gapMs of [0, 1, 5, 10, 20]) {
      const { server, traffic } = await loaded();
      try {
        server.child.kill('SIGTERM');
        await new Promise((r) => setTimeout(r, gapMs));
        server.child.kill('SIGTERM');
        const exit = await exitWithin(server, 5000);
        assert.notEqual(exit, 'still running', `gap ${gapMs} ms`);
        const [code, signal] = exit as [number | null, NodeJS.Signals | null];
        // 1 from the second signal; 0 if shutdown had already finished; SIGTERM's default
        // action if it came while Node was tearing down, its handlers already gone.
        assert.ok(
          code === 0 || code === 1 || signal === 'SIGTERM',
          `gap ${gapMs} ms: exit ${code}, signal ${signal}\n${server.stderr()}`,
        );
        noAbort(server);
      } finally {
        await traffic.stop();
        server.child.kill('SIGKILL');
      }
    }
  });
});
