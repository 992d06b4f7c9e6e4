// The instance model: replicas per worker, built once from the constructor arguments,
// pinned placement, release on dispose, the development warning for replica changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configure, getPool, release } from 'smartasync';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  SmartCounter,
  PinnedCounter,
  SmartConnection,
  SmartSession,
  SmartReplica,
  busyWait,
  SmartGreeter,
  SlowGreeter,
  FlakyGreeter,
  Settings,
} from './fixtures/basic.ts';

configure({ size: 2 });

test('each worker builds one replica from the constructor arguments and reuses it', async () => {
  const c = new SmartCounter(100, 'replicated');
  // Keep both workers busy so the reads spread over them.
  const reads = await Promise.all(
    Array.from({ length: 30 }, (_, i) => (i % 3 === 0 ? busyWait(3) : c.read()) as Promise<Record<string, unknown>>),
  );
  const replicaReads = reads.filter((r) => 'label' in r);
  assert.ok(
    replicaReads.every((r) => r.label === 'replicated' && r.n === 100),
    'constructor arguments honoured',
  );
  const threads = new Set(replicaReads.map((r) => r.threadId));
  assert.ok(!threads.has(0));
  // A replica per worker: its own writes stay on that worker and accumulate there.
  const before = await Promise.all([c.add(1), c.add(1), c.add(1), c.add(1)]);
  const perThread = new Map<number, number>();
  for (const r of before) perThread.set(r.threadId, Math.max(perThread.get(r.threadId) ?? 0, r.n));
  const total = [...perThread.values()].reduce((sum, n) => sum + (n - 100), 0);
  assert.equal(total, 4, 'each add landed on exactly one replica, and replicas were not rebuilt');
  assert.equal(c.sync.n, 100, 'the calling thread’s instance is untouched');
});

test('a replica is built once per worker, from the constructor arguments', async () => {
  const r = new SmartReplica('from-main');
  const perThread = new Map<number, number>();
  // Where calls land depends on timing (a worker quick to take the next call may take them
  // all): rounds go on until two workers have served the instance, each round checked.
  for (let round = 0; round < 20 && perThread.size < 2; round++) {
    const seen = await Promise.all(
      Array.from({ length: 60 }, (_, i) => (i % 4 === 0 ? busyWait(2).then(() => r.whoami()) : r.whoami())),
    );
    for (const s of seen) {
      assert.equal(s.tag, 'from-main');
      perThread.set(s.threadId, Math.max(perThread.get(s.threadId) ?? 0, s.builds));
    }
  }
  assert.ok(!perThread.has(0), 'all calls ran on workers');
  assert.ok(perThread.size >= 2, `calls spread over ${perThread.size} workers in 20 rounds`);
  for (const [thread, builds] of perThread)
    assert.equal(builds, 1, `worker ${thread} built its replica ${builds} times`);
});

test('separate instances get separate replicas', async () => {
  const a = new SmartCounter(1);
  const b = new SmartCounter(1000);
  const [ra, rb] = await Promise.all([a.read(), b.read()]);
  assert.equal(ra.n, 1);
  assert.equal(rb.n, 1000);
});

test('pinned placement runs every call of an instance on one worker, in call order', async () => {
  const c = new PinnedCounter(0);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => c.add(i)));
  const threads = new Set(results.map((r) => r.threadId));
  assert.equal(threads.size, 1, 'one worker only');
  let expected = 0;
  results.forEach((r, i) => {
    expected += i;
    assert.equal(r.n, expected, `call ${i} saw the writes of every earlier call`);
  });
  const after = await c.read();
  assert.equal(after.n, expected, 'read-your-writes across calls');
});

test('pinned instances are spread over the workers', async () => {
  const counters = Array.from({ length: 4 }, () => new PinnedCounter(0));
  const threads = new Set((await Promise.all(counters.map((c) => c.read()))).map((r) => r.threadId));
  assert.equal(threads.size, 2);
});

test('release() disposes every worker replica and the calling thread’s instance', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-'));
  const log = path.join(dir, 'log');
  const conn = new SmartConnection(log);
  const threads = new Set(
    await Promise.all(Array.from({ length: 20 }, () => Promise.all([conn.ping(), busyWait(2)]).then(([t]) => t))),
  );
  await release(conn);
  const lines = fs.readFileSync(log, 'utf8').trim().split('\n').sort();
  const expected = [...threads, 0].map((t) => `closed ${t}`).sort();
  assert.deepEqual(lines, expected);
  fs.rmSync(dir, { recursive: true });
});

/** Whether this Node parses `await using` (V8 13.6, Node 24; compilers downlevel it for older ones). */
function parsesAwaitUsing(): boolean {
  try {
    new Function('return async () => { await using x = null; }');
    return true;
  } catch {
    return false;
  }
}

test('await conn[Symbol.asyncDispose]() and await conn.close() release the worker replicas and this instance', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-'));
  const lines = (file: string) => fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
  const conn = new SmartConnection(path.join(dir, 'log'));
  await conn.ping();
  await conn[Symbol.asyncDispose]();
  assert.equal(lines(path.join(dir, 'log')), 2, 'one worker replica and the local instance');
  const conn2 = new SmartConnection(path.join(dir, 'log2'));
  await conn2.ping();
  await conn2.close();
  assert.equal(lines(path.join(dir, 'log2')), 2);
  fs.rmSync(dir, { recursive: true });
});

test(
  'await using disposes through Symbol.asyncDispose',
  { skip: parsesAwaitUsing() ? false : `this Node (${process.version}) does not parse await using` },
  async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-'));
    const log = path.join(dir, 'log');
    const { pingInBlock } = await import('./fixtures/await-using.ts');
    await pingInBlock(log);
    assert.equal(
      fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length,
      2,
      'one worker replica and the local instance',
    );
    fs.rmSync(dir, { recursive: true });
  },
);

test('constructor arguments that cannot cross threads fail at new, naming the class and argument', () => {
  assert.throws(
    () => new SmartCounter(1, (() => 'x') as unknown as string),
    (err: Error) =>
      err instanceof TypeError &&
      /class Counter/.test(err.message) &&
      /args\[1\]/.test(err.message) &&
      /function/.test(err.message),
  );
});

test('a replica changing its own fields warns once, in development', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  const s = new SmartSession();
  await s.remember('ada');
  await s.remember('grace');
  await new Promise((r) => setImmediate(r));
  process.off('warning', onWarning);
  const mine = warnings.filter((w) => (w as Error & { code?: string }).code === 'SMARTASYNC_REPLICA_CHANGED');
  assert.equal(mine.length, 1);
  assert.match(mine[0]!.message, /Session#remember\(\) changed this\.user/);
  assert.equal(s.sync.user, undefined, 'this thread never saw the change');
});

test('dropped instances release their worker replicas when garbage-collected', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-'));
  const log = path.join(dir, 'log');
  const script = fileURLToPath(new URL('./fixtures/gc-release.ts', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', script, log], { encoding: 'utf8', timeout: 20_000 });
  const text = JSON.parse(out) as string | null;
  assert.ok(text, 'the replica was never disposed');
  assert.match(text, /^closed [1-9]\d*$/m, 'disposed in the worker');
  fs.rmSync(dir, { recursive: true });
});

test('a replica factory builds replicas of classes whose constructor arguments cannot cross threads', async () => {
  const here = new SmartGreeter(new Settings('Hello from here'));
  assert.deepEqual(
    here.greet.sync('Ada'),
    { text: 'Hello from here, Ada!', threadId: 0 },
    'this thread keeps its own instance',
  );
  const there = await here.greet('Ada');
  assert.notEqual(there.threadId, 0);
  assert.equal(there.text, 'Hello from a worker, Ada!', 'the worker built its replica with the factory');
  await release(here);
});

test('an async replica factory is awaited once per worker and instance; a failing one fails that call only', async () => {
  const slow = new SlowGreeter(new Settings('unused'));
  const results = await Promise.all(Array.from({ length: 6 }, () => slow.greet('B')));
  for (const r of results) assert.match(r.text, /^Built \d+, B!$/);
  const perThread = new Map(results.map((r) => [r.threadId, r.text]));
  for (const r of results) assert.equal(r.text, perThread.get(r.threadId), 'one replica per worker, reused');
  await onOneWorker(async () => {
    const flaky = new FlakyGreeter(new Settings('unused'));
    await assert.rejects(flaky.greet('C'), /the database is not up yet/);
    assert.equal((await flaky.greet('C')).text, 'Second try, C!', 'the next call builds it again');
  });
});

/** Runs `body` on a pool of one worker (so a per-worker effect happens once), then restores size 2. */
async function onOneWorker(body: () => Promise<void>): Promise<void> {
  await getPool().close();
  configure({ size: 1 });
  try {
    await body();
  } finally {
    await getPool().close();
    configure({ size: 2 });
  }
}
