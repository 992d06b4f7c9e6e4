// The server process as `npm start` runs it: listens, logs one line per request, and on
// SIGTERM/SIGINT finishes what is in flight, then closes the pool and exits 0.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { testDatabases, type TestDatabases } from './support/databases.ts';

const root = join(import.meta.dirname, '..');

let databases: TestDatabases;
before(async () => {
  databases = await testDatabases({ postgres: false });
});
after(() => databases?.stop());

interface Server {
  child: ChildProcess;
  base: string;
  logs: Record<string, unknown>[];
  exited: Promise<[number | null, NodeJS.Signals | null]>;
}

async function startServer(env: Record<string, string>): Promise<Server> {
  const child = spawn(process.execPath, ['src/main.ts'], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  const logs: Record<string, unknown>[] = [];
  const base = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      logs.push(entry);
      const listening = /^Server listening at (http:\/\/127\.0\.0\.1:\d+)$/.exec(String(entry.msg));
      if (listening) resolve(listening[1]!);
    });
    exited.then(([code]) => reject(new Error(`server exited with ${code} before listening`)));
  });
  return { child, base, logs, exited };
}

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
    const requests = Number(/^http_requests_total\{method="GET",route="\/users\/:id",status_code="404"\} (\d+)$/m.exec(metrics)?.[1]);
    assert.equal(requests, 1, 'the user route ran once before listening');
    assert.deepEqual(server.logs.filter((l) => l.url !== undefined && l.url !== '/metrics'), [], 'warm-up requests are not in the access log');
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal}: in-flight requests finish, new ones are refused, the process exits 0`, async () => {
    const server = await startServer({ DATABASE_URL: databases.freshUrl('better-sqlite3'), REPORT_COST: '4000000' });
    try {
      const created = await fetch(`${server.base}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Before', email: 'before@example.com' }),
      });
      assert.equal(created.status, 201);

      const inFlight = fetch(`${server.base}/reports/users`).then(async (r) => ({ status: r.status, body: (await r.json()) as { users: number } }));
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
