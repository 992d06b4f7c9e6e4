// Generators: a function* wrapped by smartasync streams its items from a worker, with
// backpressure; breaking out, a thrown error and an aborted signal all end the generator there
// (its finally runs) and free the worker; .sync() of an async function* reads blocking.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { threadId } from 'node:worker_threads';
import { configure, getPool, release, CallAbortedError, WorkerCrashedError } from 'smartasync';
import {
  countTo,
  ticker,
  SmartTable,
  whereSync,
  InsufficientFunds,
  dieAfter,
  slowRows,
  textLine,
  textLines,
  textLinesAsync,
} from './fixtures/basic.ts';

configure({ size: 1 });
after(() => getPool().close());

const shared = () => new SharedArrayBuffer(8);
const counts = (sab: SharedArrayBuffer) => new Int32Array(sab);
const WINDOW = 256;

test('a function* streams its items from a worker, then its return value', async () => {
  const sab = shared();
  const it = countTo(1_000, sab);
  const items: { i: number; threadId: number }[] = [];
  let result: IteratorResult<{ i: number; threadId: number }, string>;
  while (!(result = await it.next()).done) items.push(result.value);
  assert.equal(result.value, 'all done');
  assert.deepEqual(
    items.map((x) => x.i),
    Array.from({ length: 1_000 }, (_, i) => i),
  );
  assert.ok(
    items.every((x) => x.threadId !== 0 && x.threadId === items[0]!.threadId),
    'one worker ran it',
  );
  assert.equal(counts(sab)[1], 1, 'its finally ran');
});

test('the worker never runs more than the window ahead of a slow reader', async () => {
  const sab = shared();
  let read = 0;
  let mostAhead = 0;
  for await (const _ of countTo(3_000, sab)) {
    read++;
    mostAhead = Math.max(mostAhead, Atomics.load(counts(sab), 0) - read);
    if (read % 100 === 0) await new Promise((r) => setTimeout(r, 5)); // a slow consumer
  }
  assert.equal(read, 3_000);
  assert.ok(mostAhead <= WINDOW, `the worker ran ${mostAhead} items ahead`);
  assert.ok(mostAhead > 0, 'it does run ahead');
});

test("a slow generator's items do not wait for a full chunk", async () => {
  // 20 ms an item: held for a full chunk, the first of 60 would arrive with the last, after 1.2 s.
  await whereSync('warm'); // a worker is up: what is timed is the stream
  const started = performance.now();
  let first = -1;
  for await (const i of slowRows(60, 20)) {
    assert.equal(i, 0);
    first = performance.now() - started;
    break;
  }
  assert.ok(first >= 0 && first < 600, `the first item arrived after ${first.toFixed(0)} ms`);
});

test("a waiting stream stops promptly while another stream's slow generator runs ahead on its worker", async () => {
  const sab = shared();
  const waiting = countTo(1_000_000, sab);
  await waiting.next(); // it runs ahead to the window, then waits for its reader: it holds no thread
  await new Promise((r) => setTimeout(r, 100));
  // The one worker now runs this generator: 50 ms an item, 20 items within its window (1 s).
  const slow = slowRows(20, 50);
  await slow.next();
  const started = performance.now();
  await waiting.return('stopped'); // its reader stops
  const took = performance.now() - started;
  assert.equal(counts(sab)[1], 1, 'its finally ran');
  assert.ok(took < 400, `the waiting stream ended ${took.toFixed(0)} ms after its reader stopped`);
  await slow.return(undefined);
});

test('breaking out of the loop ends the generator on the worker and frees it', async () => {
  const sab = shared();
  let read = 0;
  for await (const item of countTo(1_000_000, sab)) {
    assert.notEqual(item.threadId, 0);
    if (++read === 10) break;
  }
  assert.equal(counts(sab)[1], 1, 'its finally ran before the loop ended');
  assert.ok(Atomics.load(counts(sab), 0) <= 10 + WINDOW, 'it stopped producing');
  const t = performance.now();
  await whereSync('after the stream');
  assert.ok(performance.now() - t < 1_000, 'the worker (the only one) is free again');
});

test('an error thrown mid-stream arrives after the items before it, with its class', async () => {
  const sab = shared();
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const item of countTo(100, sab, 5)) seen.push(item.i);
    })(),
    (err: Error) => err instanceof InsufficientFunds && /account 5/.test(err.message),
  );
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
  assert.equal(counts(sab)[1], 1);
});

test('an aborted signal ends the stream: the reader gets CallAbortedError, the generator its finally', async () => {
  const sab = shared();
  const controller = new AbortController();
  let read = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of countTo.with({ signal: controller.signal })(1_000_000, sab)) {
        if (++read === 3) controller.abort(new Error('client went away'));
      }
    })(),
    CallAbortedError,
  );
  for (let waited = 0; counts(sab)[1] !== 1 && waited < 2_000; waited += 10)
    await new Promise((r) => setTimeout(r, 10));
  assert.equal(counts(sab)[1], 1, 'its finally ran on the worker');
  assert.equal((await whereSync('next')).tag, 'next');
});

test('a generator method streams from the worker’s replica', async () => {
  const table = new SmartTable('users');
  const rows = [];
  for await (const row of table.rows(300)) rows.push(row);
  assert.equal(rows.length, 300);
  assert.ok(rows.every((r) => r.table === 'users' && r.threadId !== 0));
  assert.deepEqual(
    [...table.rows.sync(2)],
    [
      { table: 'users', row: 0, threadId },
      { table: 'users', row: 1, threadId },
    ],
    '.sync() of a function* runs it here',
  );
  await release(table);
});

test('a stream keeps its replica: releasing the instance mid-stream waits for the stream to end', async () => {
  const table = new SmartTable('orders');
  const rows: number[] = [];
  let released: Promise<void> | undefined;
  for await (const row of table.rows(1_000)) {
    rows.push(row.row);
    if (rows.length === 10) released = release(table);
    if (rows.length % 100 === 0) await new Promise((r) => setTimeout(r, 2));
  }
  assert.equal(rows.length, 1_000, 'every row arrived although the instance was released');
  await released;
});

test('a worker that dies mid-stream: the chunks it sent arrive, in order, then WorkerCrashedError', async () => {
  const seen: number[] = [];
  await assert.rejects(
    (async () => {
      for await (const i of dieAfter(600)) seen.push(i);
    })(),
    (err: WorkerCrashedError) => err instanceof WorkerCrashedError && err.started === true,
  );
  // Items go out in chunks of up to 64: those still in the worker's last chunk die with it.
  assert.deepEqual(
    seen,
    Array.from({ length: seen.length }, (_, i) => i),
  );
  assert.ok(seen.length >= 600 - 63 && seen.length <= 600, `${seen.length} items arrived`);
  assert.equal((await whereSync('replaced')).tag, 'replaced');
});

test('.json() of a function* gives the JSON array of its items, made on the worker', async () => {
  const text = await countTo.json(3, shared());
  assert.deepEqual(
    (JSON.parse(text) as { i: number }[]).map((x) => x.i),
    [0, 1, 2],
  );
});

test('an async function*: awaited it runs here; .sync() reads it blocking from the bridge worker', async () => {
  const here = [];
  for await (const item of ticker(3, shared())) here.push(item.threadId);
  assert.deepEqual(here, [0, 0, 0]);

  const sab = shared();
  const blocking = ticker.sync(1_000, sab);
  const first = blocking.next();
  assert.equal(first.done, false);
  assert.notEqual(first.value!.threadId, 0, 'on the bridge worker');
  let read = 1;
  for (const _ of blocking) if (++read === 5) break;
  assert.equal(counts(sab)[1], 1, 'break ended it there: its finally ran');
});

test('a stream of text crosses exactly: quotes, escapes, characters beyond ASCII, lone surrogates, mixed items', async () => {
  for (const odd of [false, true]) {
    const expected = Array.from({ length: 2_000 }, (_, i) => textLine(i, odd));
    const items = [];
    for await (const item of textLines(2_000, odd)) items.push(item);
    assert.deepEqual(items, expected, `awaited, odd items ${odd}`);
    assert.deepEqual(
      [...textLinesAsync.sync(2_000, odd)],
      expected,
      `.sync() from the bridge worker, odd items ${odd}`,
    );
  }
});
