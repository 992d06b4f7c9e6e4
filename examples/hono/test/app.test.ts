// The Hono app over real HTTP (@hono/node-server), its data in a temporary SQLite file. While the heavy report
// runs on a worker, the light route keeps answering and the event loop keeps ticking; the
// control serves the same app from the plain store, and the same measurement sees it blocked.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { serve as createServer } from '@hono/node-server';
import { getPool } from 'smartasync';
import { createApp, type UserService } from '../src/app.ts';
import { UserStore, Users } from '../src/store.ts';

// About 1 s of SQLite work here (a slower machine only widens the window): long beside the
// pauses a loaded machine gives any process now and then.
const REPORT_ROWS = 3_000_000;
const CHECKSUM = expectedChecksum(REPORT_ROWS);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-hono-'));
const file = path.join(dir, 'users.db');
const users = new Users(file);
let light: { id: number; name: string };

before(async () => {
  await getPool().warm(users); // what is timed below is the report, not starting workers
  light = await users.add('Ada');
});

after(async () => {
  await users.close(); // every worker's connection, then this thread's
  await getPool().close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function expectedChecksum(rows: number): number {
  let sum = 0;
  for (let i = 1; i <= rows; i++) sum += i % 7;
  return sum;
}

async function serve(service: UserService): Promise<{ base: string; close: () => Promise<void> }> {
  const server = createServer({ fetch: createApp(service, REPORT_ROWS).fetch, port: 0, hostname: '127.0.0.1' });
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Light requests one after another for as long as the report runs, and the event loop's ticks meanwhile. */
async function lightWhileHeavy(base: string) {
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
  assert.equal(result.body.checksum, CHECKSUM);
  return { answered, slowest, ticks, reportMs: result.ms };
}

test('users: create, read, not found, bad input', async () => {
  const { base, close } = await serve(users);
  try {
    const created = await fetch(`${base}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Grace' }),
    });
    assert.equal(created.status, 201);
    const grace = (await created.json()) as { id: number; name: string };
    assert.equal(grace.name, 'Grace');
    assert.deepEqual(await (await fetch(`${base}/users/${grace.id}`)).json(), grace);
    assert.equal((await fetch(`${base}/users/999999`)).status, 404);
    const bad = await fetch(`${base}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: '' }),
    });
    assert.equal(bad.status, 400);
  } finally {
    await close();
  }
});

test('the light route answers while the heavy report runs on a worker', async (t) => {
  const { base, close } = await serve(users);
  try {
    const { answered, slowest, ticks, reportMs } = await lightWhileHeavy(base);
    t.diagnostic(
      `report ${reportMs.toFixed(0)} ms: ${answered} light responses, slowest ${slowest.toFixed(1)} ms, ${ticks} ticks`,
    );
    assert.ok(reportMs >= 150, `the report should be heavy, took ${reportMs.toFixed(0)} ms`);
    assert.ok(answered >= 5, `${answered} light responses during a ${reportMs.toFixed(0)} ms report`);
    assert.ok(slowest < reportMs / 2, `slowest light response ${slowest.toFixed(0)} ms`);
    // A 10 ms interval ticks about reportMs / 10 times on a free loop; ask for a third of that.
    assert.ok(ticks >= reportMs / 30, `${ticks} timer ticks during ${reportMs.toFixed(0)} ms`);
  } finally {
    await close();
  }
});

test('control: the plain store, called on the event loop, blocks every request while the report runs', async (t) => {
  const plain = new UserStore(file);
  const { base, close } = await serve(plain);
  try {
    const { answered, slowest, ticks, reportMs } = await lightWhileHeavy(base);
    t.diagnostic(
      `report ${reportMs.toFixed(0)} ms: ${answered} light responses, slowest ${slowest.toFixed(1)} ms, ${ticks} ticks`,
    );
    assert.ok(answered <= 1, `${answered} light responses during the report`);
    assert.ok(
      slowest >= reportMs / 2,
      `slowest light response ${slowest.toFixed(0)} ms, report ${reportMs.toFixed(0)} ms`,
    );
    assert.ok(ticks < reportMs / 30, `${ticks} timer ticks during ${reportMs.toFixed(0)} ms`);
  } finally {
    await close();
    plain.close();
  }
});
