// The database going away under load, with the real server process: PostgreSQL frozen
// (SIGSTOP: connections stay open, nothing answers), stopped, and restarted. Every request is
// answered within a bound (503 while the database is away), /health stays live, /ready reports
// the database, the app recovers without a restart, and it still shuts down cleanly.
//
// The bound: with DB_TIMEOUT_MS=1000 a data-layer call is answered within 1000 + 2000 ms (the
// per-call timeout, src/db/store.ts), queueing included; we allow 1500 ms more for a loaded
// two-core machine.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { testDatabases, type TestDatabases } from './support/databases.ts';
import { exitWithin, json, load, type Server, startServer } from './support/server.ts';

const DB_TIMEOUT_MS = 1000;
const CALL_BOUND_MS = DB_TIMEOUT_MS + 2000;
const REQUEST_BOUND_MS = CALL_BOUND_MS + 1500;

let databases: TestDatabases;
before(async () => {
  databases = await testDatabases({ mariadb: false });
});
after(() => {
  databases?.postgres.thaw();
  databases?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function timed(
  request: (signal: AbortSignal) => Promise<Response>,
): Promise<{ status: number; ms: number; body: string }> {
  const started = performance.now();
  // A hung request fails the test instead of hanging it.
  const response = await request(AbortSignal.timeout(15_000));
  const body = await response.text();
  return { status: response.status, ms: performance.now() - started, body };
}

/** Waits until `n` requests in a row succeed; returns how long that took to start. */
async function recovered(base: string, n = 20, withinMs = 10_000): Promise<number> {
  const started = performance.now();
  let inARow = 0;
  while (inARow < n) {
    if (performance.now() - started > withinMs) throw new Error(`not recovered within ${withinMs} ms`);
    const response = await fetch(`${base}/accounts`, { signal: AbortSignal.timeout(15_000) });
    await response.arrayBuffer();
    inARow = response.status === 200 ? inARow + 1 : 0;
    if (inARow === 0) await sleep(50);
  }
  return performance.now() - started;
}

describe('postgres goes away under load', () => {
  let server: Server;
  let ids: number[];
  before(async () => {
    server = await startServer({ DATABASE_URL: databases.freshUrl('postgres'), DB_TIMEOUT_MS: String(DB_TIMEOUT_MS) });
    ids = [];
    for (let i = 0; i < 4; i++)
      ids.push(
        (
          (await (await fetch(`${server.base}/accounts`, json({ owner: `O${i}`, balance: 1000 }))).json()) as {
            id: number;
          }
        ).id,
      );
  });
  after(async () => {
    databases.postgres.thaw();
    server?.child.kill('SIGKILL');
  });

  /** Reads, and transfers that keep the total: the load during each outage. */
  function traffic() {
    let n = 0;
    return load((signal) =>
      ++n % 2 === 0
        ? fetch(`${server.base}/accounts`, { signal })
        : fetch(`${server.base}/transfers`, { ...json({ from: ids[n % 4], to: ids[(n + 1) % 4], amount: 1 }), signal }),
    );
  }

  async function totalIsKept() {
    const accounts = (await (await fetch(`${server.base}/accounts`)).json()) as { balance: number }[];
    assert.equal(
      accounts.reduce((sum, a) => sum + a.balance, 0),
      4000,
      'transfers neither lost nor created money',
    );
  }

  test(
    'frozen: bounded 503s, /health live, /ready 503; thawed: recovers without a restart',
    { timeout: 60_000 },
    async (t) => {
      const load = traffic();
      let tookMs = NaN;
      try {
        await sleep(300);
        databases.postgres.freeze();
        const frozenAt = performance.now();
        const health = await timed((signal) => fetch(`${server.base}/health`, { signal }));
        assert.deepEqual([health.status, JSON.parse(health.body)], [200, { status: 'ok' }]);
        assert.ok(health.ms < 500, `/health took ${health.ms.toFixed(0)} ms with the database frozen`);
        const ready = await timed((signal) => fetch(`${server.base}/ready`, { signal }));
        assert.equal(ready.status, 503, ready.body);
        assert.match(JSON.parse(ready.body).detail, /^Database unavailable: /);
        assert.ok(ready.ms < 2000 + 1500, `/ready took ${ready.ms.toFixed(0)} ms`);
        const during = await timed((signal) => fetch(`${server.base}/users`, { signal }));
        assert.equal(during.status, 503, during.body);
        assert.ok(during.ms < REQUEST_BOUND_MS, `GET /users took ${during.ms.toFixed(0)} ms with the database frozen`);
        while (performance.now() - frozenAt < 6000) await sleep(100);
        databases.postgres.thaw();
        tookMs = await recovered(server.base);
        assert.ok(tookMs < 5000, `recovered ${tookMs.toFixed(0)} ms after the thaw`);
      } finally {
        databases.postgres.thaw();
        await load.stop();
      }
      t.diagnostic(
        `slowest ${load.slowestMs.toFixed(0)} ms, recovered ${tookMs.toFixed(0)} ms after the thaw, statuses ${JSON.stringify(load.statuses)}`,
      );
      assert.ok(
        load.slowestMs < REQUEST_BOUND_MS,
        `slowest request ${load.slowestMs.toFixed(0)} ms (bound ${REQUEST_BOUND_MS} ms): ${JSON.stringify(load.statuses)}`,
      );
      assert.ok((load.statuses['503'] ?? 0) > 0, JSON.stringify(load.statuses));
      assert.deepEqual(
        Object.keys(load.statuses).filter((s) => !['200', '201', '409', '503'].includes(s)),
        [],
        JSON.stringify(load.statuses),
      );
      assert.equal((await timed((signal) => fetch(`${server.base}/ready`, { signal }))).status, 200);
      await totalIsKept();
    },
  );

  test('stopped, then started: 503s at once, recovery without a restart', { timeout: 60_000 }, async (t) => {
    const load = traffic();
    let tookMs = NaN;
    try {
      await sleep(300);
      databases.postgres.stopServer();
      const down = await timed((signal) => fetch(`${server.base}/accounts`, { signal }));
      assert.equal(down.status, 503, down.body);
      assert.equal((await timed((signal) => fetch(`${server.base}/ready`, { signal }))).status, 503);
      await sleep(1500);
      databases.postgres.startServer();
      tookMs = await recovered(server.base);
      assert.ok(tookMs < 5000, `recovered ${tookMs.toFixed(0)} ms after the start`);
    } finally {
      await load.stop();
    }
    t.diagnostic(
      `slowest ${load.slowestMs.toFixed(0)} ms, recovered ${tookMs.toFixed(0)} ms after the start, statuses ${JSON.stringify(load.statuses)}`,
    );
    assert.ok(
      load.slowestMs < REQUEST_BOUND_MS,
      `slowest request ${load.slowestMs.toFixed(0)} ms: ${JSON.stringify(load.statuses)}`,
    );
    assert.deepEqual(
      Object.keys(load.statuses).filter((s) => !['200', '201', '409', '503'].includes(s)),
      [],
      JSON.stringify(load.statuses),
    );
    await totalIsKept();
  });

  test('restarted: a few 503s, then recovery', { timeout: 60_000 }, async (t) => {
    const load = traffic();
    let tookMs = NaN;
    try {
      await sleep(300);
      databases.postgres.restart();
      tookMs = await recovered(server.base);
    } finally {
      await load.stop();
    }
    t.diagnostic(
      `slowest ${load.slowestMs.toFixed(0)} ms, recovered ${tookMs.toFixed(0)} ms after the restart, statuses ${JSON.stringify(load.statuses)}`,
    );
    assert.ok(load.slowestMs < REQUEST_BOUND_MS, `slowest request ${load.slowestMs.toFixed(0)} ms`);
    assert.deepEqual(
      Object.keys(load.statuses).filter((s) => !['200', '201', '409', '503'].includes(s)),
      [],
      JSON.stringify(load.statuses),
    );
    await totalIsKept();
  });

  test('frozen, SIGTERM: a clean shutdown (exit 0) well before the deadline', { timeout: 60_000 }, async () => {
    const load = traffic();
    try {
      await sleep(300);
      databases.postgres.freeze();
      await sleep(300);
      server.child.kill('SIGTERM');
      // In-flight requests end by the per-call timeout; closing the connections needs no answer.
      const exit = await exitWithin(server, CALL_BOUND_MS + 3000);
      assert.deepEqual(exit, [0, null], server.stderr());
      assert.doesNotMatch(server.stderr(), /Assertion failed|uv_loop_close/);
    } finally {
      databases.postgres.thaw();
      await load.stop();
    }
  });
});

test('CLI on a frozen database: exits 3 in bounded time', { timeout: 60_000 }, () => {
  const url = databases.freshUrl('postgres');
  databases.postgres.freeze();
  try {
    const started = performance.now();
    const result = spawnSync(process.execPath, ['src/cli.ts', 'list'], {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, DATABASE_URL: url, DB_TIMEOUT_MS: String(DB_TIMEOUT_MS) },
      encoding: 'utf8',
      timeout: 20_000,
    });
    const tookMs = performance.now() - started;
    assert.equal(result.status, 3, `${result.status} ${result.signal} ${result.stderr}`);
    assert.match(
      result.stderr,
      /^error: Database postgresql:\/\/postgres@127\.0\.0\.1:\d+\/users_\d+ is unavailable: timeout expired/,
    );
    // connect_timeout is whole seconds, at least 2 (libpq's rule); plus Node's start-up.
    assert.ok(tookMs < 2000 + 2500, `took ${tookMs.toFixed(0)} ms`);
  } finally {
    databases.postgres.thaw();
  }
});
