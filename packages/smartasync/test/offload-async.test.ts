// offloadAsync (issue 15, defect 8): an async body whose own work (an async driver parsing the
// rows it receives) would hold this event loop up runs on a pool worker instead, whose event
// loop does that work; many such calls share a worker while they await.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { configure, getPool, smartasync } from 'smartasync';
import { parseRows, parseRowsHere, rowsFrom, SmartAsyncStore, waitFor } from './fixtures/async-work.ts';

configure({ size: 1 }); // one worker: a core stays free for this thread, as the pool's hold keeps one
after(() => getPool().close());

/**
 * The CPU time (ms) this thread spent while `work` ran: work done on this event loop shows here,
 * whatever else the machine is doing (which a timer's lateness would also show).
 */
async function cpuHere(work: Promise<unknown>): Promise<number> {
  const before = process.threadCpuUsage();
  await work;
  const used = process.threadCpuUsage(before);
  return (used.user + used.system) / 1000;
}

test('an async body with offloadAsync runs on a worker; .sync() still runs it on the bridge', async () => {
  const r = await parseRows(3, 0);
  assert.notEqual(r.threadId, threadId);
  assert.equal(r.steps, 3);
  assert.notEqual(parseRows.sync(2, 0).threadId, threadId);
  assert.equal((await parseRowsHere(1, 0)).threadId, threadId, 'without it, an async body runs here');
});

test('its work between awaits runs on the worker: this thread spends next to none of it', async () => {
  await parseRows(1, 0); // a worker is up
  // 8 calls of 20 turns with 4 ms of work each: 640 ms of work, on this loop or a worker's.
  const offloaded = await cpuHere(Promise.all(Array.from({ length: 8 }, () => parseRows(20, 4))));
  const here = await cpuHere(Promise.all(Array.from({ length: 8 }, () => parseRowsHere(20, 4))));
  // (The work spins on the clock: on a busy machine, part of its 640 ms is spent preempted.)
  assert.ok(here >= 200, `the control: run here, the work took ${here.toFixed(0)} ms of this thread's CPU`);
  assert.ok(
    offloaded < here / 10,
    `offloaded, it took ${offloaded.toFixed(0)} ms of this thread's CPU (${here.toFixed(0)} here)`,
  );
});

test('calls that await share a worker: 40 calls of 100 ms settle together, not one after another', async () => {
  await waitFor(1);
  const started = performance.now();
  const threads = await Promise.all(Array.from({ length: 40 }, () => waitFor(100)));
  const took = performance.now() - started;
  assert.ok(threads.every((t) => t !== threadId));
  assert.ok(took < 1_000, `40 calls of 100 ms took ${took.toFixed(0)} ms`);
});

test('an async generator with offloadAsync streams its items from a worker', async () => {
  const items: { i: number; threadId: number }[] = [];
  for await (const item of rowsFrom(1_000)) items.push(item);
  assert.deepEqual(
    items.map((x) => x.i),
    Array.from({ length: 1_000 }, (_, i) => i),
  );
  assert.ok(items.every((x) => x.threadId !== threadId));
  assert.equal(
    await rowsFrom.json(3),
    JSON.stringify(items.slice(0, 3).map(({ i }) => ({ i, threadId: items[0]!.threadId }))),
  );
});

test('a class with offloadAsync: its async methods run on the worker replica of the instance', async () => {
  const store = new SmartAsyncStore('s');
  const [a, b] = await Promise.all([store.put(1, 'one'), store.put(2, 'two')]);
  assert.equal(a, b, 'pinned: one worker');
  assert.notEqual(a, threadId);
  assert.deepEqual(await store.get(1), { value: 'one', threadId: a, name: 's' });
  assert.equal(store.sync.name, 's');
  await store[Symbol.asyncDispose]();
});

test('offloadAsync takes true or false', () => {
  assert.throws(
    () => smartasync(async function bad() {}, { offloadAsync: 'yes' as unknown as boolean }),
    /offloadAsync for bad\(\) must be true or false, got "yes"/,
  );
});
