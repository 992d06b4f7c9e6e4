// While the heavy legacy report runs, the light endpoints keep answering: the report's
// blocking work happens on a worker. The inline control shows the same measurement does
// catch a blocked event loop.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getPool } from 'smartasync';
import { buildApp } from '../src/app.ts';
import type { DataMode } from '../src/db/store.ts';
import { testDatabases, type TestDatabases } from './support/databases.ts';
import { setUpPool } from './support/pool.ts';

// About 300 ms of PBKDF2 on a current core; slower machines only widen the window.
const REPORT_COST = 3_000_000;

let databases: TestDatabases;
before(async () => {
  setUpPool();
  databases = await testDatabases({ postgres: false, mariadb: false });
});
after(() => databases?.stop());

/** `mode` undefined: the app's default, as shipped. */
async function measure(
  mode: DataMode | undefined,
  warmUpSequentially = 0,
  onStart?: () => void,
  beforeSequential?: () => void,
) {
  const app = await buildApp({
    databaseUrl: databases.freshUrl('better-sqlite3'),
    ...(mode ? { mode } : {}),
    reportCost: REPORT_COST,
  });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const user = (await (
      await fetch(`${base}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Light', email: 'light@example.com' }),
      })
    ).json()) as { id: number };
    // Start the workers before measuring, so start-up cost is not counted as blocking.
    await Promise.all(Array.from({ length: 8 }, () => fetch(`${base}/users/${user.id}`).then((r) => r.json())));
    beforeSequential?.();
    for (let i = 0; i < warmUpSequentially; i++) await (await fetch(`${base}/users/${user.id}`)).json();
    onStart?.();

    let ticks = 0;
    const ticker = setInterval(() => ticks++, 10);
    let reportDone = false;
    const started = performance.now();
    const report = fetch(`${base}/reports/users`).then(async (r) => {
      reportDone = true;
      return { status: r.status, body: (await r.json()) as { signature: string }, ms: performance.now() - started };
    });
    let answered = 0;
    let slowest = 0;
    while (!reportDone) {
      const t = performance.now();
      const response = await fetch(`${base}/users/${user.id}`);
      assert.equal(response.status, 200);
      await response.json();
      if (!reportDone) answered++;
      slowest = Math.max(slowest, performance.now() - t);
    }
    const result = await report;
    clearInterval(ticker);
    assert.equal(result.status, 200);
    assert.match(result.body.signature, /^[0-9a-f]{64}$/);
    return { answered, slowest, ticks, reportMs: result.ms };
  } finally {
    await app.close();
  }
}

test('light requests keep answering while the report runs (smartasync)', async () => {
  const { answered, slowest, ticks, reportMs } = await measure('smartasync');
  assert.ok(reportMs >= 150, `the report should be heavy, took ${reportMs.toFixed(0)} ms`);
  assert.ok(answered >= 10, `${answered} light responses during a ${reportMs.toFixed(0)} ms report`);
  assert.ok(slowest < 150, `slowest light response ${slowest.toFixed(0)} ms`);
  // A 10 ms interval ticks about reportMs/10 times on a free loop; ask for a third of that.
  assert.ok(ticks >= reportMs / 30, `${ticks} timer ticks during ${reportMs.toFixed(0)} ms`);
});

/** Calls of `name` that smartasync ran on a worker so far (those run inline are not counted). */
const offloadedCalls = (name: string) =>
  getPool()
    .stats()
    // One entry per wrapped class: the app wraps DatabaseManager twice (src/db/async.ts).
    .functions.filter((f) => f.name === name)
    .reduce((n, f) => n + f.completed + f.failed, 0);

test('as shipped: GET /users/:id runs inline once warm, the report still on a worker', async () => {
  const SEQUENTIAL = 60;
  let before = 0;
  let reads = 0;
  let reports = 0;
  // The 8 concurrent first reads go to workers (the policy has not seen the method yet); the
  // sequential ones after them, the fast route alone, run inline once seen fast.
  const { answered, slowest, ticks, reportMs } = await measure(
    undefined,
    SEQUENTIAL,
    () => {
      reads = offloadedCalls('DatabaseManager#getUser()');
      reports = offloadedCalls('DatabaseManager#usersReport()');
    },
    () => (before = offloadedCalls('DatabaseManager#getUser()')),
  );
  const offloaded = reads - before;
  // Fails if the fast route goes back to always offloading (all 60 would count). Not none: on a
  // busy machine an inline read preempted mid-call looks slow, and sends the next few to workers.
  assert.ok(offloaded < SEQUENTIAL / 2, `${offloaded} of ${SEQUENTIAL} sequential reads went to a worker`);
  // Fails if the report stops going to a worker, or blocks the loop.
  assert.equal(offloadedCalls('DatabaseManager#usersReport()') - reports, 1, 'the report ran on a worker');
  assert.ok(reportMs >= 150, `the report should be heavy, took ${reportMs.toFixed(0)} ms`);
  assert.ok(answered >= 10, `${answered} light responses during a ${reportMs.toFixed(0)} ms report`);
  assert.ok(slowest < 150, `slowest light response ${slowest.toFixed(0)} ms`);
  assert.ok(ticks >= reportMs / 30, `${ticks} timer ticks during ${reportMs.toFixed(0)} ms`);
});

test('control: called inline, the report blocks everything', async () => {
  const { slowest, reportMs } = await measure('inline');
  assert.ok(
    slowest >= reportMs * 0.5,
    `slowest light response ${slowest.toFixed(0)} ms, report ${reportMs.toFixed(0)} ms`,
  );
});
