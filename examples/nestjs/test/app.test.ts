// The Nest app over real HTTP, its data in a temporary SQLite file. The light route goes
// through smartasync(UserStore) (a factory provider), the heavy report through the decorated
// ReportsService, whose injected connection each worker rebuilds with the replica factory.
// The control replaces that service with one that runs the same report on the event loop.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { getPool } from 'smartasync';
import { AppModule } from '../src/app.module';
import { DatabaseService } from '../src/database.service';
import { activityReport } from '../src/reports/activity-report';
import { ReportsService } from '../src/reports/reports.service';
import { USER_STORE, type Users } from '../src/users/users.token';

// About 1 s of SQLite work here (a slower machine only widens the window): long beside the
// pauses a loaded machine gives any process now and then. Set before the first worker starts,
// so that workers, whose environment is a copy of this one, see it too.
const REPORT_ROWS = 3_000_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'example-nestjs-'));
process.env.DATABASE_FILE = path.join(dir, 'users.db');
process.env.REPORT_ROWS = String(REPORT_ROWS);
const CHECKSUM = expectedChecksum(REPORT_ROWS);

function expectedChecksum(rows: number): number {
  let sum = 0;
  for (let i = 1; i <= rows; i++) sum += i % 7;
  return sum;
}

let app: INestApplication;
let base: string;
let light: { id: number; name: string };

before(async () => {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  app = moduleRef.createNestApplication({ logger: false });
  await app.listen(0, '127.0.0.1');
  base = await app.getUrl();
  // Workers, their modules and both replicas ready: what is timed below is the report.
  await getPool().warm(app.get<Users>(USER_STORE), app.get(ReportsService));
  light = (await (await post('/users', { name: 'Ada' }, base)).json()) as { id: number; name: string };
});

after(async () => {
  await app?.close();
  await getPool().close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function post(route: string, body: unknown, at: string): Promise<Response> {
  return fetch(`${at}${route}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** Light requests one after another for as long as the report runs, and the event loop's ticks meanwhile. */
async function lightWhileHeavy(at: string) {
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  const started = performance.now();
  let reportDone = false;
  const report = fetch(`${at}/reports/activity`).then(async (r) => {
    reportDone = true;
    return { status: r.status, body: (await r.json()) as { checksum: number }, ms: performance.now() - started };
  });
  let answered = 0;
  let slowest = 0;
  while (!reportDone) {
    const t = performance.now();
    const r = await fetch(`${at}/users/${light.id}`);
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
  const created = await post('/users', { name: 'Grace' }, base);
  assert.equal(created.status, 201);
  const grace = (await created.json()) as { id: number; name: string };
  assert.equal(grace.name, 'Grace');
  assert.deepEqual(await (await fetch(`${base}/users/${grace.id}`)).json(), grace);
  assert.equal((await fetch(`${base}/users/999999`)).status, 404);
  assert.equal((await post('/users', { name: '' }, base)).status, 400);
});

test('the decorated report runs through the pool, on a replica whose connection the factory opened', async () => {
  const before = getPool().stats().completed;
  const response = await fetch(`${base}/reports/activity`);
  assert.equal(response.status, 200); // the injected connection itself cannot cross threads
  const report = (await response.json()) as { users: number; checksum: number };
  assert.equal(report.checksum, CHECKSUM);
  assert.ok(report.users >= 1, `the worker's connection sees the users written here: ${JSON.stringify(report)}`);
  assert.equal(getPool().stats().completed - before, 1, 'one call went through the pool');
});

test('the light route answers while the heavy report runs on a worker', async (t) => {
  const { answered, slowest, ticks, reportMs } = await lightWhileHeavy(base);
  t.diagnostic(
    `report ${reportMs.toFixed(0)} ms: ${answered} light responses, slowest ${slowest.toFixed(1)} ms, ${ticks} ticks`,
  );
  assert.ok(reportMs >= 150, `the report should be heavy, took ${reportMs.toFixed(0)} ms`);
  assert.ok(answered >= 5, `${answered} light responses during a ${reportMs.toFixed(0)} ms report`);
  assert.ok(slowest < reportMs / 2, `slowest light response ${slowest.toFixed(1)} ms`);
  // A 10 ms interval ticks about reportMs / 10 times on a free loop; ask for a third of that.
  assert.ok(ticks >= reportMs / 30, `${ticks} timer ticks during ${reportMs.toFixed(0)} ms`);
});

test('control: the same report run on the event loop blocks every request while it runs', async (t) => {
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
    .overrideProvider(ReportsService)
    .useFactory({
      factory: (database: DatabaseService) => ({ activity: async () => activityReport(database.db, REPORT_ROWS) }),
      inject: [DatabaseService],
    })
    .compile();
  const inline = moduleRef.createNestApplication({ logger: false });
  await inline.listen(0, '127.0.0.1');
  try {
    const at = await inline.getUrl();
    const { answered, slowest, ticks, reportMs } = await lightWhileHeavy(at);
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
    await inline.close();
  }
});
