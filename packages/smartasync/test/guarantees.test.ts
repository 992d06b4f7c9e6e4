// The engine's promises, each at the edge where it once broke (issue 15): nothing starves,
// functions never seen are not taken for short ones, a cancelled call that never started never
// runs, a bad value fails its own call only, streams stop and deliver promptly. Real workers, a
// side-effect log (test/fixtures/fuzz-target.ts); the fuzzer (fuzz.test.ts) checks the same
// promises under generated traffic.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  configure,
  getPool,
  CallAbortedError,
  CallTimeoutError,
  WorkerCrashedError,
  type PoolOptions,
} from 'smartasync';
import {
  badRows,
  die,
  long0,
  poison,
  PinnedLedger,
  rows,
  short0,
  varies,
  type PoisonKind,
} from './fixtures/fuzz-target.ts';
import { countTo, exitsMidStream, SlowTable } from './fixtures/basic.ts';

const generated: string[] = [];
after(async () => {
  await getPool().close();
  for (const file of generated) fs.rmSync(file, { force: true });
});

const now = () => performance.timeOrigin + performance.now();

async function freshPool(options: PoolOptions): Promise<void> {
  await getPool().close();
  configure(options);
  await getPool().warm();
}

/** A side-effect log for one test: its file, and what it says ran (id → start, end, finally). */
function sideEffects() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-guarantees-'));
  const file = path.join(dir, 'log');
  fs.writeFileSync(file, '');
  return {
    file,
    read() {
      const ran = new Map<number, { start?: number; end?: number; finallyAt?: number; produced?: number }>();
      const order: number[] = [];
      const threads = new Map<number, number>();
      for (const line of fs.readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
        const [what, id, t, thread, produced] = line.split(' ');
        const r = ran.get(Number(id)) ?? {};
        if (what === 'S') {
          r.start = Number(t);
          order.push(Number(id));
          threads.set(Number(id), Number(thread));
        } else if (what === 'E') r.end = Number(t);
        else {
          r.finallyAt = Number(t);
          r.produced = Number(produced);
        }
        ran.set(Number(id), r);
      }
      return { ran, order, threads };
    },
    remove: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.ceil(q * xs.length) - 1]!;

test('long calls do not starve under a flood of short ones', async () => {
  await freshPool({ size: 2 });
  const log = sideEffects();
  await Promise.all([short0(log.file, -1, 0), long0(log.file, -2, 20)]); // both known
  let flooding = true;
  const lanes = Array.from({ length: 300 }, async () => {
    for (let id = 0; flooding; id++) await short0(log.file, 1_000_000 + id, 0);
  });
  const waits: number[] = [];
  const until = now() + 1_500;
  for (let id = 0; now() < until; id++) {
    const issued = now();
    // Starved, a long call would wait for the end of the flood, which waits for this loop.
    const ran = await long0
      .with({ timeout: 2_000 })(log.file, id, 20)
      .then(
        () => true,
        () => false,
      );
    waits.push(ran ? log.read().ran.get(id)!.start! - issued : Infinity);
  }
  flooding = false;
  await Promise.all(lanes);
  log.remove();
  // Alone, one worker runs 20 ms calls back to back: 75 in 1.5 s. Starved (before): one or two.
  assert.ok(waits.length >= 15, `only ${waits.length} long calls ran in 1.5 s under the flood`);
  assert.ok(Math.max(...waits) < 300, `a long call waited ${Math.max(...waits).toFixed(0)} ms`);
});

/** A module of `count` functions never called before, each spinning for the ms it is given. */
function freshFunctions(count: number): string {
  const dir = path.join(import.meta.dirname, 'fixtures', '.tmp');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `fresh-${process.pid}-${Date.now()}.ts`);
  const lines = [
    "import { smartasync } from 'smartasync';",
    'const spin = (ms: number) => { const until = performance.now() + ms; while (performance.now() < until); return ms; };',
    ...Array.from(
      { length: count },
      (_, i) => `export const f${i} = smartasync(function f${i}(ms: number) { return spin(ms); });`,
    ),
  ];
  fs.writeFileSync(file, lines.join('\n'));
  generated.push(file); // removed after the last test: warm() imports every registered module
  return file;
}

/** Latencies (ms) of a known-short call made every 2 ms while `during` runs. */
async function shortLatencies(log: string, during: Promise<unknown>): Promise<number[]> {
  let done = false;
  void during.finally(() => (done = true));
  const latencies: number[] = [];
  for (let id = 0; !done; id++) {
    const t0 = performance.now();
    await short0(log, 2_000_000 + id, 0);
    latencies.push(performance.now() - t0);
    await sleep(2);
  }
  return latencies;
}

test('functions never seen are not taken for short ones: their first calls do not hold up short calls', async () => {
  await freshPool({ size: 2 });
  const log = sideEffects();
  const file = freshFunctions(60);
  const fresh = Object.values((await import(file)) as Record<string, (ms: number) => Promise<number>>);
  await getPool().warm(); // their module loaded everywhere: what follows is their first calls
  await short0(log.file, -1, 0);
  const latencies = await shortLatencies(log.file, Promise.all(fresh.map((f) => f(20))));
  log.remove();
  // Before: the first calls went where short calls go (the express worker too): p50 676 ms.
  assert.ok(quantile(latencies, 0.5) < 20, `short calls' p50 ${quantile(latencies, 0.5).toFixed(1)} ms`);
  assert.ok(quantile(latencies, 0.9) < 60, `short calls' p90 ${quantile(latencies, 0.9).toFixed(1)} ms`);
});

test('a function that turns long is no longer taken for a short one after one long call', async () => {
  await freshPool({ size: 1 });
  const log = sideEffects();
  await long0(log.file, -1, 5); // learned: long
  for (let i = 0; i < 16; i++) await varies(log.file, -10 - i, 0); // learned: short
  await short0(log.file, -2, 0);
  // The only regular worker is busy for a second: short calls use the express worker, where a
  // function taken for short but now running 50 ms a call holds every short call up.
  const blocker = long0(log.file, -3, 1_000);
  const turned = (async () => {
    for (let i = 0; i < 6; i++) await varies(log.file, 100 + i, 50);
  })();
  const latencies = await shortLatencies(log.file, turned);
  await blocker;
  const threads = log.read().threads;
  log.remove();
  const express = threads.get(2_000_000)!; // where the short calls ran meanwhile
  const onExpress = [100, 101, 102, 103, 104, 105].filter((id) => threads.get(id) === express);
  // One misjudged call (its first long one) may take the express worker; before, the median of
  // its latest calls kept it short for four more, each holding short calls up (p99 171 ms).
  assert.ok(onExpress.length <= 1, `calls ${onExpress.join(', ')} of the turned function ran on the express worker`);
  // And no short call waited for the regular worker's second-long call.
  assert.ok(Math.max(...latencies) < 500, `short calls took ${latencies.map((ms) => ms.toFixed(0)).join(' ')} ms`);
});

test('one slow call of a short function does not hold its next call back behind a long one', async () => {
  await freshPool({ size: 2 });
  const log = sideEffects();
  await long0(log.file, -1, 5); // learned: long
  for (let i = 0; i < 16; i++) await varies(log.file, -10 - i, 0); // learned: short
  // A worker computes for a second, and short calls keep arriving: the hold on CPU-bound long
  // calls lets no second one start meanwhile (2 cores, one kept for the event loop).
  const blocker = long0(log.file, -3, 1_000);
  let blocking = true;
  void blocker.finally(() => (blocking = false));
  await sleep(50);
  // One call of the short function runs 40 ms (past the 10 ms that cast doubt, even with its
  // thread preempted on a loaded machine for part of it): a GC pause, page faults, a cold cache.
  await varies(log.file, 1, 40);
  const t0 = performance.now();
  await varies(log.file, 2, 0);
  const outlierNext = performance.now() - t0;
  // Twice in a row is no accident: the next call is held back like a long one.
  await varies(log.file, 3, 40);
  await varies(log.file, 4, 40);
  const held = varies(log.file, 5, 0);
  await sleep(30);
  const heldBack = getPool()
    .stats()
    .functions.find((f) => f.name === 'varies()')?.heldBack;
  const stillBlocking = blocking;
  await Promise.all([held, blocker]);
  log.remove();
  // Before: held back until the second-long call ended (the express example's light route once
  // waited 278 ms so, during a 424 ms report).
  assert.ok(outlierNext < 200, `the call after one slow call waited ${outlierNext.toFixed(0)} ms`);
  assert.ok(stillBlocking, 'the long call ended before the check: the machine is too slow for this test');
  assert.equal(heldBack, 1, 'after two slow calls in a row, the next is held back');
});

for (const how of ['abort', 'timeout'] as const) {
  test(`a pinned call cancelled (${how}) while it waits for its worker never runs`, async () => {
    await freshPool({ size: 1 });
    const log = sideEffects();
    const ledger = new PinnedLedger('L');
    await ledger.step(log.file, 0, 0);
    const first = ledger.step(log.file, 1, 300);
    const controller = new AbortController();
    const options = how === 'abort' ? { signal: controller.signal } : { timeout: 30 };
    const cancelled = ledger.step.with(options)(log.file, 2, 0);
    const third = ledger.step(log.file, 3, 0);
    setTimeout(() => controller.abort(new Error('the client went away')), 30);
    await assert.rejects(cancelled, (err: CallAbortedError | CallTimeoutError) => {
      assert.ok(err instanceof (how === 'abort' ? CallAbortedError : CallTimeoutError));
      assert.equal(err.started, false);
      assert.match(err.message, /will never run/);
      return true;
    });
    assert.deepEqual(await Promise.all([first, third]), [1, 3]);
    const { order } = log.read();
    log.remove();
    assert.deepEqual(order, [0, 1, 3], 'the cancelled call never ran; the calls around it ran in order');
  });
}

const POISONS: readonly PoisonKind[] = ['getter', 'name', 'proxy-date', 'proxy-error', 'function', 'revoked-proxy'];

test('a value that cannot be read or sent fails its own call, not its worker or its neighbours', async () => {
  await freshPool({ size: 1, headOfLine: false });
  const log = sideEffects();
  for (const kind of POISONS) {
    const neighbours = Array.from({ length: 20 }, (_, i) => short0(log.file, i, 0));
    const bad = poison(log.file, 100, kind);
    neighbours.push(...Array.from({ length: 20 }, (_, i) => short0(log.file, 20 + i, 0)));
    const [outcome] = await Promise.allSettled([bad]);
    assert.equal(outcome!.status, 'rejected', `${kind}: the bad value was not delivered`);
    const err = (outcome as PromiseRejectedResult).reason as Error;
    assert.ok(!(err instanceof WorkerCrashedError), `${kind}: ${err.message}`);
    assert.deepEqual(
      await Promise.all(neighbours),
      Array.from({ length: 40 }, (_, i) => i),
      `${kind}: its neighbours are unharmed`,
    );
  }
  assert.equal(getPool().stats().crashedWorkers, 0);
  // What can be read of a bad error still arrives.
  await assert.rejects(poison(log.file, 101, 'getter'), (err: Error & { detail?: unknown }) => {
    assert.equal(err.message, 'has a getter that throws');
    assert.equal(err.detail, '[unreadable: the getter threw]');
    return true;
  });
  await assert.rejects(
    poison(log.file, 102, 'proxy-date'),
    /the return value of poison\(\) cannot be sent to another thread/,
  );
  log.remove();
});

test('configure() refuses values that would take the process down or start a thread per call', () => {
  const refused: [unknown, RegExp][] = [
    [null, /pool options must be an object, got null/],
    [
      { resourceLimits: { maxOldGenerationSizeMb: -5 } },
      /maxOldGenerationSizeMb must be a number of megabytes of at least 16/,
    ],
    [{ resourceLimits: { maxOldGenerationSizeMb: 1 } }, /at least 16/],
    [{ resourceLimits: { maxOldGenerationSizeMb: 4 } }, /at least 16/],
    [{ resourceLimits: { stackSizeMb: 0.01 } }, /stackSizeMb must be a number of megabytes of at least 0.5/],
    [{ resourceLimits: { heapMb: 4 } }, /heapMb is not a worker limit/],
    [{ size: 1e4 }, /size must be a whole number from 1 to 256/],
    [{ size: 0 }, /size must be a whole number from 1 to 256/],
    [{ concurrencyPerWorker: 1e6 }, /concurrencyPerWorker must be a whole number from 1 to 1024/],
    [{ execArgv: '--import tsx' }, /execArgv must be an array of strings/],
    [{ sise: 2 }, /sise is not a pool option/],
    [{ headOfLine: { longCallMS: 3 } }, /longCallMS is not a setting/],
    [{ workerNice: -1 }, /workerNice must be a whole number from 0 to 19/],
    [{ workerNice: 20 }, /workerNice must be a whole number from 0 to 19/],
    [{ workerNice: 2.5 }, /workerNice must be a whole number from 0 to 19/],
    [{ workerNice: '10' }, /workerNice must be a whole number from 0 to 19 .*got "10"/],
  ];
  for (const [options, message] of refused) {
    assert.throws(() => configure(options as PoolOptions), message, JSON.stringify(options));
  }
});

test("a slow generator's items reach the reader as it yields them, not with the next one", async () => {
  await freshPool({ size: 1 });
  const log = sideEffects();
  const late: number[] = [];
  // 200 ms of synchronous work before each item: held back until the next step, each item
  // would arrive 200 ms late (before: 1,004 ms for a generator a second an item).
  for await (const item of rows(log.file, 1, 5, 200, -1, -1)) late.push(now() - item.t);
  log.remove();
  assert.equal(late.length, 5);
  assert.ok(
    Math.max(...late) < 100,
    `items arrived ${late.map((ms) => ms.toFixed(0)).join(', ')} ms after they were yielded`,
  );
});

test('a reader that breaks off ends the generator at its next item, even mid-way through a run', async () => {
  await freshPool({ size: 1 });
  const log = sideEffects();
  let brokeAt = 0;
  let read = 0;
  // 5 ms an item: the worker runs up to 256 items ahead (1.3 s) in one synchronous stretch.
  for await (const _ of rows(log.file, 1, 1_000, 5, -1, -1)) {
    if (++read === 3) {
      brokeAt = now();
      break;
    }
  }
  // A timeout on a stream whose reader never stops: its generator ends at its next item too.
  const timed = rows.with({ timeout: 300 })(log.file, 2, 1_000, 5, -1, -1);
  const timedOutAt = now() + 300;
  await assert.rejects(
    (async () => {
      for await (const _ of timed) await sleep(1);
    })(),
    (err: CallTimeoutError) => err instanceof CallTimeoutError && err.started,
  );
  // Its generator ends on the worker after the caller was told: give it until a deadline.
  for (let waited = 0; log.read().ran.get(2)?.finallyAt === undefined && waited < 1_000; waited += 10) await sleep(10);
  const { ran } = log.read();
  log.remove();
  const first = ran.get(1)!;
  const second = ran.get(2)!;
  assert.ok(
    first.finallyAt! - brokeAt < 100,
    `its finally ran ${(first.finallyAt! - brokeAt).toFixed(0)} ms after the break`,
  );
  assert.ok(first.produced! < 30, `it produced ${first.produced} items for a reader that took 3`);
  assert.ok(
    second.finallyAt! - timedOutAt < 100,
    `a timed-out stream ended ${(second.finallyAt! - timedOutAt).toFixed(0)} ms after its timeout`,
  );
});

for (const bad of ['a function', 'a proxy of a date'] as const) {
  test(`an item that cannot cross (${bad}) fails the stream after the items before it, and its finally runs`, async () => {
    await freshPool({ size: 1 });
    const log = sideEffects();
    const items: number[] = [];
    // badAt yields a Proxy of a Date; an item holding a function is the plain check's case (the
    // compiler refuses that call too, which is the point of the types: here it is the run time's).
    const stream =
      bad === 'a proxy of a date'
        ? rows(log.file, 1, 300, 0, -1, 100)
        : // @ts-expect-error an item of badRows() holds a function, which cannot cross threads
          badRows(100);
    await assert.rejects(
      (async () => {
        for await (const item of stream) items.push(item.i);
      })(),
      /item 100 of the items of (rows|badRows)\(\) cannot be sent to another thread/,
    );
    assert.deepEqual(
      items,
      Array.from({ length: 100 }, (_, i) => i),
      'every item before the bad one arrived',
    );
    if (bad === 'a proxy of a date') assert.ok(log.read().ran.get(1)?.finallyAt, "the generator's finally ran");
    log.remove();
  });
}

/** Resolves 'closed' when the pool closes, 'late' if it has not after `ms`: a worker still owing a stream's last reply holds it open. */
async function closesWithin(ms: number): Promise<'closed' | 'late'> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), ms)));
  const closed = getPool()
    .close()
    .then(() => 'closed' as const);
  try {
    return await Promise.race([closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

test('an item that cannot cross as the last of its stream fails the stream, and the worker is free again', async () => {
  await freshPool({ size: 1 });
  const log = sideEffects();
  const items: number[] = [];
  // The last chunk goes with the end of the stream: a Proxy of a Date that passes the check but
  // not the encoder, in that chunk, once left the stream without its last reply (found by the fuzzer).
  const read = (async () => {
    for await (const item of rows(log.file, 1, 5, 0, -1, 4)) items.push(item.i);
  })();
  const outcome = await Promise.race([
    read.then(
      () => 'resolved',
      (err: unknown) => err,
    ),
    sleep(5_000).then(() => 'still pending after 5 s'),
  ]);
  assert.match(String(outcome), /item 4 of the items of rows\(\) cannot be sent to another thread/);
  assert.deepEqual(items, [0, 1, 2, 3]);
  assert.equal(await closesWithin(5_000), 'closed');
  log.remove();
});

test("a stream cancelled while it waits in its worker's line never runs past the cancel", async () => {
  await freshPool({ size: 1 });
  // B: a stream waiting for its reader, on the same worker.
  const b = countTo(100_000, new SharedArrayBuffer(8));
  await b.next();
  // A: its replica's factory holds the worker's line for 300 ms, so its cancel arrives before
  // the generator exists; B's cancel then overwrites the shared stop word A's would have read.
  const table = new SlowTable('slow');
  const controller = new AbortController();
  const a = table.rows.with({ signal: controller.signal })(1_000_000);
  const first = a.next();
  await sleep(100);
  controller.abort(new Error('the client left'));
  await assert.rejects(first, CallAbortedError);
  await b.return('reader stopped');
  await sleep(400); // A's replica is built and its call reaches the generator
  assert.equal(await closesWithin(5_000), 'closed', "A's last reply came, so the pool could close");
});

test('a stream waiting for its reader holds no worker: short and long calls run meanwhile', async () => {
  await freshPool({ size: 1 });
  const log = sideEffects();
  await Promise.all([short0(log.file, -1, 0), long0(log.file, -2, 20)]);
  const stream = rows(log.file, 1, 100_000, 0, -1, -1);
  await stream.next(); // the worker fills the reader's window, then waits for it
  await sleep(50);
  const t0 = performance.now();
  await Promise.all([short0(log.file, 2, 0), long0(log.file, 3, 20)]);
  const took = performance.now() - t0;
  await stream.return(0);
  log.remove();
  // Before: the stream held the only worker for its life, and the long call waited for it.
  assert.ok(took < 200, `a short and a long call took ${took.toFixed(0)} ms beside a paused stream`);
});

test('replies written before a long call do not wait for it to end', async () => {
  await freshPool({ size: 1, headOfLine: false });
  const log = sideEffects();
  await short0(log.file, -1, 0);
  const t0 = performance.now();
  const shorts = Array.from({ length: 5 }, (_, i) => short0(log.file, i, 0).then(() => performance.now() - t0));
  const long = long0(log.file, 10, 300);
  const settled = await Promise.all(shorts);
  await long;
  log.remove();
  assert.ok(
    Math.max(...settled) < 150,
    `short calls sent before a 300 ms one settled after ${Math.max(...settled).toFixed(0)} ms`,
  );
});

test('a worker that dies is reported once per cause, with the cause', async () => {
  await freshPool({ size: 1 });
  const log = sideEffects();
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  await die(log.file, 1, 'throw-later');
  await sleep(100);
  await die(log.file, 2, 'throw-later');
  await sleep(100);
  await die(log.file, 3, 'exit').catch(() => {});
  await sleep(100);
  process.off('warning', onWarning);
  log.remove();
  const ours = warnings.filter((w) => (w as Error & { code?: string }).code === 'SMARTASYNC_WORKER_CRASHED');
  assert.equal(ours.length, 2, ours.map((w) => w.message).join('\n'));
  assert.match(ours[0]!.message, /died with an uncaught error \(thrown from a timer after the call returned\)/);
  assert.match(ours[1]!.message, /exited with code 3/);
  assert.equal(getPool().stats().crashedWorkers, 3);
});

test("a reader that stops a stream whose worker died hears of it: the generator's finally never ran", async () => {
  // No express worker: the call that kills the worker goes to the stream's worker, free while
  // the stream waits for its reader (found by the fuzzer: `break` resolved as if all was well).
  await freshPool({ size: 1, headOfLine: false });
  const log = sideEffects();
  const counts = new Int32Array(new SharedArrayBuffer(8));
  const read = (async () => {
    for await (const item of countTo(100_000, counts.buffer as SharedArrayBuffer)) {
      assert.equal(item.i, 0);
      await assert.rejects(die(log.file, 1, 'exit'), WorkerCrashedError);
      break; // the generator was suspended on the worker that just died
    }
  })();
  await assert.rejects(read, (err: unknown) => {
    assert.ok(err instanceof WorkerCrashedError, String(err));
    assert.match(err.message, /countTo\(\)/);
    return true;
  });
  assert.equal(Atomics.load(counts, 1), 0, "the generator's finally did not run: its worker was gone");
  assert.ok(Atomics.load(counts, 0) > 1, 'the generator had run ahead of its reader');
  assert.equal(await closesWithin(5_000), 'closed');
  log.remove();
});

test('the same from a sync caller: breaking off a blocking stream whose worker died throws its WorkerCrashedError', () => {
  const counts = new Int32Array(new SharedArrayBuffer(8));
  const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  assert.throws(
    () => {
      for (const item of exitsMidStream.sync(counts.buffer as SharedArrayBuffer)) {
        assert.equal(item, 0);
        pause(200); // the bridge ends its own thread 20 ms after the generator started
        break;
      }
    },
    (err: unknown) => err instanceof WorkerCrashedError && /exitsMidStream\(\)/.test(err.message),
  );
  assert.equal(Atomics.load(counts, 1), 0, "the generator's finally did not run");
});
