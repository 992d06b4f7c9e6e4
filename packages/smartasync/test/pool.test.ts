// The pool: abort, timeout, bounded queue, worker crashes, close, statistics, exit.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  configure,
  getPool,
  CallAbortedError,
  CallTimeoutError,
  QueueFullError,
  WorkerCrashedError,
  PoolClosedError,
  type PoolOptions,
} from 'smartasync';
import { busyWait, whereSync, crash, hang, PinnedCounter, logCall, threadNice } from './fixtures/basic.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

async function freshPool(options: PoolOptions): Promise<void> {
  await getPool().close();
  configure(options);
}

function runChild(fixture: string, timeout = 20_000): unknown {
  const script = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  return JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8', timeout }));
}

beforeEach(() => freshPool({ size: 2 }));

test('aborting a running sync call rejects at once and replaces its worker', async () => {
  await whereSync('warm up');
  const controller = new AbortController();
  const started = performance.now();
  const call = busyWait.with({ signal: controller.signal })(3_000);
  setTimeout(() => controller.abort(new Error('user went away')), 100);
  await assert.rejects(call, (err: Error) => {
    assert.ok(err instanceof CallAbortedError);
    assert.equal((err as CallAbortedError).code, 'ERR_SMARTASYNC_ABORTED');
    assert.match(err.message, /busyWait\(\)/);
    assert.equal((err.cause as Error).message, 'user went away');
    return true;
  });
  assert.ok(performance.now() - started < 2_000, 'did not wait for the sync call to finish');
  const next = await whereSync('next');
  assert.equal(next.tag, 'next');
  assert.equal(getPool().stats().crashedWorkers, 0, 'a deliberate stop is not a crash');
});

test('calls sent behind a long synchronous call are taken back and run on a free worker', async () => {
  await freshPool({ size: 2, concurrencyPerWorker: 8 });
  // Every worker up, the express one included: this is about taking calls back, not start-up
  // (a worker started on demand takes hundreds of ms on a loaded machine).
  await getPool().warm();
  const long = busyWait(600);
  await new Promise((r) => setTimeout(r, 10)); // the long call is running
  const started = performance.now();
  // Some of these are placed behind the long call before it counts as stalled.
  const light = await Promise.all(Array.from({ length: 12 }, (_, i) => whereSync(`light ${i}`)));
  const elapsed = performance.now() - started;
  const longThread = (await long).threadId;
  assert.equal(light.length, 12);
  assert.ok(
    light.every((r) => r.threadId !== longThread),
    'no light call ran behind the long one',
  );
  assert.ok(elapsed < 300, `light calls took ${Math.round(elapsed)} ms, as if they waited for the 600 ms call`);
});

test('an already-aborted signal rejects without running', async () => {
  await assert.rejects(busyWait.with({ signal: AbortSignal.abort() })(10), CallAbortedError);
});

test('aborting a queued call removes it from the queue', async () => {
  await freshPool({ size: 1, concurrencyPerWorker: 1 });
  await getPool().warm(); // a call made before any worker has started waits in line too
  const controller = new AbortController();
  const first = busyWait(200);
  const queued = busyWait.with({ signal: controller.signal })(10);
  assert.equal(getPool().stats().queued, 1);
  controller.abort();
  await assert.rejects(queued, CallAbortedError);
  assert.equal(getPool().stats().queued, 0);
  assert.equal((await first).ms, 200, 'the running call was not disturbed');
});

test('aborting a call already sent to a busy worker, before it starts: it never runs; the calls behind it do', async () => {
  await freshPool({ size: 1, concurrencyPerWorker: 8, headOfLine: false });
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-abort-')), 'log');
  fs.writeFileSync(file, '');
  await logCall(file, 0); // the worker is up
  const controller = new AbortController();
  const first = busyWait(200);
  const doomed = logCall.with({ signal: controller.signal })(file, 1);
  const behind = logCall(file, 2);
  assert.equal(getPool().stats().queued, 0, 'both were sent to the worker, behind the running call');
  controller.abort();
  await assert.rejects(doomed, CallAbortedError);
  assert.equal(await behind, 2);
  await first;
  assert.deepEqual(fs.readFileSync(file, 'utf8').split('\n').filter(Boolean), ['0', '2'], 'the aborted call never ran');
});

test('calls taken back from a worker that had started none of them still run, and keep the process alive until then', () => {
  // In a child process: with nothing in flight, only the pool's line holds the calls, and a
  // process that exits early shows as unfinished top-level awaits (exit code 13).
  const r = runChild('taken-back.ts') as { aborted: boolean; results: number[]; ran: string[] };
  assert.equal(r.aborted, true);
  assert.deepEqual(r.results, [1, 3]);
  assert.deepEqual(r.ran, ['1', '3'], 'the aborted call never ran');
});

test('a timeout on a running sync call terminates the worker; its unstarted calls run elsewhere', async () => {
  await freshPool({ size: 1, concurrencyPerWorker: 8 });
  await whereSync('warm up'); // the worker is up and has loaded the module
  const started = performance.now();
  const slow = busyWait.with({ timeout: 150 })(3_000);
  const behind = [whereSync('b1'), whereSync('b2')]; // sent to the same worker, not yet started
  await assert.rejects(slow, (err: Error) => {
    assert.ok(err instanceof CallTimeoutError);
    assert.match(err.message, /busyWait\(\) did not settle within 150 ms/);
    assert.match(err.message, /terminated/);
    return true;
  });
  assert.ok(performance.now() - started < 2_000);
  const done = await Promise.all(behind);
  assert.deepEqual(
    done.map((r) => r.tag),
    ['b1', 'b2'],
  );
});

test('a timeout on a queued call says it never started, and it never runs', async () => {
  await freshPool({ size: 1, concurrencyPerWorker: 1, headOfLine: false });
  const first = busyWait(300);
  await assert.rejects(whereSync.with({ timeout: 50 })('late'), (err: CallTimeoutError) => {
    assert.ok(err instanceof CallTimeoutError);
    assert.equal(err.started, false);
    assert.match(err.message, /still waiting for a worker and will never run/);
    return true;
  });
  await first;
  assert.equal(getPool().stats().completed, 1, 'only the first call ran');
});

test('a full queue refuses new calls with a clear error', async () => {
  await freshPool({ size: 1, concurrencyPerWorker: 1, maxQueue: 2 });
  await getPool().warm();
  const running = busyWait(150);
  const q1 = busyWait(1);
  const q2 = busyWait(1);
  await assert.rejects(busyWait(1), (err: Error) => err instanceof QueueFullError && /maxQueue/.test(err.message));
  await Promise.all([running, q1, q2]);
});

test('a worker that calls process.exit rejects exactly its calls and is replaced', async () => {
  await freshPool({ size: 1, concurrencyPerWorker: 1 });
  const doomed = crash('exit');
  const queued = whereSync('queued behind the crash');
  await assert.rejects(doomed, (err: Error) => {
    assert.ok(err instanceof WorkerCrashedError);
    assert.match(err.message, /crash\(\)/);
    assert.match(err.message, /exited with code 3/);
    return true;
  });
  assert.equal((await queued).tag, 'queued behind the crash', 'calls not held by the dead worker go on');
  assert.equal(getPool().stats().crashedWorkers, 1);
});

test('an uncaught error in a worker rejects the calls it held, others go on', async () => {
  const other = busyWait(400);
  await assert.rejects(crash('uncaught'), (err: Error) => {
    assert.ok(err instanceof WorkerCrashedError);
    assert.match(err.message, /boom from a timer/);
    assert.equal((err.cause as Error).message, 'boom from a timer');
    return true;
  });
  assert.equal((await other).ms, 400);
});

test('a worker over its memory limit dies, its call rejects, the pool recovers', () => {
  const r = runChild('oom.ts') as Record<string, unknown>;
  assert.equal(r.name, 'WorkerCrashedError');
  assert.equal(r.code, 'ERR_SMARTASYNC_WORKER_CRASHED');
  assert.match(String(r.message), /hog\(\)/);
  assert.equal(r.after, 'after');
  assert.equal(r.crashed, 1);
});

test('close() lets running and queued calls finish, then refuses new ones', async () => {
  await freshPool({ size: 1, concurrencyPerWorker: 1 });
  const running = busyWait(100);
  const queued = whereSync('queued');
  const pool = getPool();
  const closing = pool.close();
  await assert.rejects(whereSync('too late'), PoolClosedError);
  await closing;
  assert.equal((await running).ms, 100);
  assert.equal((await queued).tag, 'queued');
  assert.equal(pool.stats().workers, 0);
});

test('statistics count calls, failures and times', async () => {
  await Promise.all([busyWait(20), busyWait(20), whereSync('x')]);
  await crash('survive').catch(() => {});
  await assert.rejects(busyWait.with({ timeout: 10 })(500));
  const s = getPool().stats();
  assert.equal(s.completed, 4);
  assert.equal(s.failed, 1);
  assert.equal(s.queued, 0);
  assert.equal(s.running, 0);
  assert.ok(s.workers >= 1 && s.workers <= 3, `${s.workers} workers: at most size (2) and the express one`);
  assert.equal(s.runTime.count, 4);
  assert.ok(s.runTime.maxMs >= 19, `runTime.maxMs ${s.runTime.maxMs}`);
  assert.ok(s.waitTime.meanMs >= 0);
});

test('sync bridge: a timeout stops a hung async call and the bridge recovers', () => {
  assert.throws(() => hang.with({ timeout: 100 }).sync(60_000), CallTimeoutError);
  assert.equal(hang.sync(1), 'woke');
});

test('configure() refuses to reshape a running pool, and validates options', async () => {
  await whereSync('start');
  assert.throws(() => configure({ size: 3 }), /before the first offloaded call/);
  assert.throws(() => configure({ size: 0 }), RangeError);
  assert.throws(() => configure({ maxQueue: 1.5 }), RangeError);
});

test(
  'workerNice: pool workers run below the event loop; the express worker and the event loop keep their priority',
  { skip: process.platform !== 'linux' && 'a thread has a priority of its own on Linux only' },
  async () => {
    await freshPool({ size: 1, workerNice: 7 });
    const loop = os.getPriority(); // on Linux: the calling thread's own
    const regular = await threadNice();
    assert.equal(regular.nice, Math.min(19, loop + 7), 'the worker runs 7 nice steps below');
    // The one regular worker holds a call it has never seen run (doubtful: held alone), so a
    // short call goes to the express worker.
    const long = busyWait(400);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const express = await threadNice();
    assert.notEqual(express.threadId, regular.threadId, 'the short call ran on the express worker');
    assert.equal(express.nice, loop, 'the express worker keeps the priority of the thread that started it');
    assert.equal(getPool().stats().expressCalls, 1);
    await long;
    assert.equal(os.getPriority(), loop, 'the event loop keeps its priority');
  },
);

test('a pinned instance whose worker dies moves to a new worker', async () => {
  await freshPool({ size: 1 });
  const c = new PinnedCounter(5);
  const first = await c.add(1);
  assert.equal(first.n, 6);
  await assert.rejects(crash('exit'), WorkerCrashedError);
  const after = await c.read();
  assert.notEqual(after.threadId, first.threadId);
  assert.equal(after.n, 5, 'the new worker built a fresh replica from the constructor arguments');
});

test('the process exits on its own after its calls (idle workers do not keep it alive)', () => {
  const r = runChild('exit-after-call.ts', 15_000) as Record<string, number>;
  assert.ok(r.worker! > 0 && r.bridge! > 0 && r.replica! > 0);
});
