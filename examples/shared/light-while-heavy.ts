// What the framework examples' tests measure, in one place: light requests one after another
// for as long as the heavy report runs, and the event loop's ticks meanwhile. (The NestJS
// example compiles its tests to CommonJS on its own, so it keeps a copy.)
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import type { PoolStats } from 'smartasync';

/** What each example's report returns for `rows` rows. */
export function expectedChecksum(rows: number): number {
  let sum = 0;
  for (let i = 1; i <= rows; i++) sum += i % 7;
  return sum;
}

export interface Measured {
  /** Light responses that completed while the report ran. */
  answered: number;
  slowest: number;
  /** Ticks of a 10 ms interval during the report. */
  ticks: number;
  reportMs: number;
}

/** Fetches `/reports/activity` once and `/users/:id` in a loop until it answers. */
export async function lightWhileHeavy(
  base: string,
  light: { id: number; name: string },
  checksum: number,
): Promise<Measured> {
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  const started = performance.now();
  let reportDone = false;
  const report = fetch(`${base}/reports/activity`).then(async (r) => {
    reportDone = true;
    return { status: r.status, body: (await r.json()) as { checksum: number }, ms: performance.now() - started };
  });
  let answered = 0;
  let slowest = 0;
  while (!reportDone) {
    const t = performance.now();
    const r = await fetch(`${base}/users/${light.id}`);
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), light);
    slowest = Math.max(slowest, performance.now() - t);
    if (!reportDone) answered++;
  }
  const result = await report;
  clearInterval(ticker);
  assert.equal(result.status, 200);
  assert.equal(result.body.checksum, checksum);
  return { answered, slowest, ticks, reportMs: result.ms };
}

function describe(t: TestContext, { answered, slowest, ticks, reportMs }: Measured): void {
  t.diagnostic(
    `report ${reportMs.toFixed(0)} ms: ${answered} light responses, slowest ${slowest.toFixed(1)} ms, ${ticks} ticks`,
  );
}

/**
 * The report ran on a worker: light requests kept answering and the loop kept ticking.
 * `pool` describes the pool's state, for the message of a failure.
 */
export function assertResponsive(t: TestContext, m: Measured, pool: () => string = () => ''): void {
  describe(t, m);
  assert.ok(m.reportMs >= 150, `the report should be heavy, took ${m.reportMs.toFixed(0)} ms`);
  assert.ok(m.answered >= 5, `${m.answered} light responses during a ${m.reportMs.toFixed(0)} ms report`);
  assert.ok(m.slowest < m.reportMs / 2, `slowest light response ${m.slowest.toFixed(0)} ms; ${pool()}`);
  // A 10 ms interval ticks about reportMs / 10 times on a free loop; ask for a third of that.
  assert.ok(m.ticks >= m.reportMs / 30, `${m.ticks} timer ticks during ${m.reportMs.toFixed(0)} ms`);
}

/** What a failure's message says of the pool: where the light calls waited, and why. */
export function describePool(stats: PoolStats): string {
  const calls = stats.functions.map(
    (f) =>
      `${f.name} ${f.completed} calls (${f.expressCalls} express, mean wait ${(f.waitTime.sumMs / Math.max(1, f.waitTime.count)).toFixed(1)} ms)`,
  );
  return `pool: longest wait ${stats.waitTime.maxMs.toFixed(0)} ms, ${calls.join(', ')}`;
}

/** The control: the report ran on the event loop and held every request. */
export function assertBlocked(t: TestContext, m: Measured): void {
  describe(t, m);
  assert.ok(m.answered <= 1, `${m.answered} light responses during the report`);
  assert.ok(
    m.slowest >= m.reportMs / 2,
    `slowest light response ${m.slowest.toFixed(0)} ms, report ${m.reportMs.toFixed(0)} ms`,
  );
  assert.ok(m.ticks < m.reportMs / 30, `${m.ticks} timer ticks during ${m.reportMs.toFixed(0)} ms`);
}

/** The users routes: create, read, not found, bad input. */
export async function checkUsersRoutes(base: string): Promise<void> {
  const post = (body: unknown) =>
    fetch(`${base}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const created = await post({ name: 'Grace' });
  assert.equal(created.status, 201);
  const grace = (await created.json()) as { id: number; name: string };
  assert.equal(grace.name, 'Grace');
  assert.deepEqual(await (await fetch(`${base}/users/${grace.id}`)).json(), grace);
  assert.equal((await fetch(`${base}/users/999999`)).status, 404);
  assert.equal((await post({ name: '' })).status, 400);
}
