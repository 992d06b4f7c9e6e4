// The 2×2 table: sync/async bodies × await/.sync() callers, for functions and classes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { configure, getPool, smartasync } from 'smartasync';
import { whereSync, whereAsync, anonymousArrow, busyWait, SmartCounter, outer, autoWhere } from './fixtures/basic.ts';

configure({ size: 2 });
assert.equal(threadId, 0);

test('sync function, awaited: runs on a worker thread', async () => {
  const r = await whereSync('a');
  assert.equal(r.tag, 'a');
  assert.notEqual(r.threadId, 0);
});

test('sync function, .sync(): runs inline and returns the value', () => {
  const r = whereSync.sync('b');
  assert.deepEqual(r, { tag: 'b', threadId: 0 });
});

test('async function, awaited: runs on the calling thread', async () => {
  const r = await whereAsync('c');
  assert.deepEqual(r, { tag: 'c', threadId: 0 });
});

test('async function, .sync(): runs on a worker while the caller blocks', () => {
  const r = whereAsync.sync('d');
  assert.equal(r.tag, 'd');
  assert.notEqual(r.threadId, 0);
});

test('anonymous arrow functions are found in the worker by call site', async () => {
  const r = await anonymousArrow(2, 3);
  assert.equal(r.sum, 5);
  assert.notEqual(r.threadId, 0);
});

test('class, sync method awaited: runs on a worker replica', async () => {
  const c = new SmartCounter(10);
  const r = await c.add(1);
  assert.equal(r.n, 11);
  assert.notEqual(r.threadId, 0);
  assert.equal(c.sync.n, 10, 'the replica changed, not this thread’s instance');
});

test('class, sync method .sync(): runs inline on the plain instance', () => {
  const c = new SmartCounter(10);
  const r = c.add.sync(5);
  assert.equal(r.n, 15);
  assert.equal(r.threadId, 0);
  assert.equal(c.sync.n, 15);
  assert.equal(c.n, 15, 'non-method members read through to the instance');
  c.n = 20;
  assert.equal(c.sync.n, 20, 'and write through to it');
});

test('class, async method awaited: runs on the calling thread', async () => {
  const c = new SmartCounter(0);
  assert.deepEqual(await c.later(3), { k: 3, threadId: 0 });
});

test('class, async method .sync(): runs on a worker replica while the caller blocks', () => {
  const c = new SmartCounter(0);
  const r = c.later.sync(4);
  assert.equal(r.k, 4);
  assert.notEqual(r.threadId, 0);
});

test('wrapped instances keep instanceof for both classes', () => {
  const c = new SmartCounter(1);
  assert.ok(c instanceof SmartCounter);
  assert.ok(c.sync instanceof SmartCounter.original);
  assert.ok(!({} instanceof SmartCounter));
});

test('the event loop keeps ticking while a 300 ms sync call runs', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 10);
  const started = performance.now();
  const r = await busyWait(300);
  const elapsed = performance.now() - started;
  clearInterval(timer);
  assert.notEqual(r.threadId, 0);
  assert.ok(elapsed >= 290, `the call took ${elapsed} ms`);
  // 30 ticks if the loop were perfectly free; a blocked loop would manage 0 or 1.
  assert.ok(ticks >= 10, `only ${ticks} timer ticks in ${Math.round(elapsed)} ms`);
});

test('concurrent calls with Promise.all run on several workers and all settle', async () => {
  // No hold on long calls (holdMs 0): with no short calls arriving, long calls use every worker.
  await getPool().close();
  configure({ size: 2, headOfLine: { holdMs: 0 } });
  const results = await Promise.all(Array.from({ length: 40 }, (_, i) => busyWait(5).then((r) => ({ ...r, i }))));
  assert.equal(results.length, 40);
  assert.deepEqual(
    results.map((r) => r.i),
    [...Array(40).keys()],
  );
  const threads = new Set(results.map((r) => r.threadId));
  assert.ok(!threads.has(0));
  assert.equal(threads.size, 2, `expected both workers to take calls, saw ${[...threads]}`);
  const stats = getPool().stats();
  assert.equal(stats.workers, 2);
  assert.equal(stats.running, 0);
  assert.equal(stats.queued, 0);
  await getPool().close();
  configure({ size: 2 });
});

test('f.json() settles with JSON text made where the body ran', async () => {
  const text = await whereSync.json('j');
  assert.equal(typeof text, 'string');
  const parsed = JSON.parse(text) as { tag: string; threadId: number };
  assert.equal(parsed.tag, 'j');
  assert.notEqual(parsed.threadId, 0, 'made on the worker');
  assert.deepEqual(JSON.parse(await whereAsync.json('k')), { tag: 'k', threadId: 0 });
  const c = new SmartCounter(3);
  assert.equal((JSON.parse(await c.read.json()) as { n: number }).n, 3);
});

test('inside a pool worker, a wrapped sync function runs inline (no nested offload)', async () => {
  const r = await outer();
  assert.notEqual(r.outer, 0);
  assert.equal(r.inner, r.outer, 'the inner call ran on the same worker thread');
});

test("offload: 'auto' runs a function inline once its calls prove fast, and offloads again after slow ones", async () => {
  const first: number[] = [];
  for (let i = 0; i < 8; i++) first.push(await autoWhere(0));
  assert.ok(
    first.every((t) => t !== 0),
    'the first calls run on workers, to measure them',
  );
  assert.equal(await autoWhere(0), 0, 'after 8 fast calls: inline');
  // 8 more, inline: the window of the latest 8 then holds none of the calls measured on a
  // worker, whose first call of a function may run slow (compiling, cold caches), so that the
  // slow calls below are the only ones in it.
  for (let i = 0; i < 8; i++) assert.equal(await autoWhere(0), 0, 'fast calls stay inline');
  assert.equal(await autoWhere(20), 0, 'a slow call while inline runs inline');
  assert.equal(await autoWhere(0), 0, 'one slow call in 8 is not a verdict: still inline');
  assert.equal(await autoWhere(20), 0, 'a second slow one runs inline too…');
  assert.notEqual(await autoWhere(0), 0, '…and sends the next ones back to workers');
  for (let i = 0; i < 8; i++) await autoWhere(0);
  assert.equal(await autoWhere(0), 0, 'once 7 of the last 8 are fast again: inline');
});

test('offload options are validated', () => {
  assert.throws(() => smartasync(() => 1, { offload: 'sometimes' as 'auto' }), /offload .* must be 'always' or 'auto'/);
  assert.throws(() => smartasync(() => 1, { offload: 'auto', inlineBelowMs: -1 }), RangeError);
});
