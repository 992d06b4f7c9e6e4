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

async function measure(mode: DataMode, warmUpSequentially = 0, onStart?: () => void) {
  const app = await buildApp({ databaseUrl: databases.freshUrl('better-sqlite3'), mode, reportCost: REPORT_COST });
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

test("offload: 'auto': fast reads run inline, the report still runs on a worker", async () => {
  let before = 0;
  // Sequential reads first, so the policy has seen enough fast calls to trust them.
  const { answered, slowest, ticks, reportMs } = await measure(
    'smartasync-auto',
    20,
    () => (before = getPool().stats().completed),
  );
  const offloaded = getPool().stats().completed - before;
  assert.ok(answered >= 10, `${answered} light responses during a ${reportMs.toFixed(0)} ms report`);
  assert.ok(slowest < 150, `slowest light response ${slowest.toFixed(0)} ms`);
  assert.ok(ticks >= reportMs / 30, `${ticks} timer ticks during ${reportMs.toFixed(0)} ms`);
  // The report went to a worker; the light reads during it ran inline, bar a few re-measured
  // after an occasional slow one (a GC pause, a busy core).
  assert.ok(offloaded >= 1 && offloaded < answered / 10, `${offloaded} offloaded calls for ${answered} light reads`);
});

test('control: called inline, the report blocks everything', async () => {
  const { slowest, reportMs } = await measure('inline');
  assert.ok(
    slowest >= reportMs * 0.5,
    `slowest light response ${slowest.toFixed(0)} ms, report ${reportMs.toFixed(0)} ms`,
  );
});
