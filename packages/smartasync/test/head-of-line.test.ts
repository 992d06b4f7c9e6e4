// Head-of-line protection: short calls never wait behind long ones, CPU-bound long calls leave
// a core free while short calls arrive, and nothing starves. The policy's arithmetic is
// checked directly; the behaviour with real workers, through overlap of real calls.
import { test, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { configure, getPool, type PoolOptions } from 'smartasync';
import { HeadOfLine } from '../src/engine/head-of-line.ts';
import { CallProfile } from '../src/engine/profile.ts';
import { firstSeen, timedSpin, timedSleep, whereSync } from './fixtures/basic.ts';

async function freshPool(options: PoolOptions): Promise<void> {
  await getPool().close();
  configure(options);
}
beforeEach(() => freshPool({ size: 2 }));
after(() => getPool().close());

function profile(meanMs: number, cpuShare = 1): CallProfile {
  const p = new CallProfile();
  p.record(meanMs, meanMs * cpuShare);
  return p;
}

/** The most calls that ran at the same moment. */
function maxOverlap(spans: readonly { start: number; end: number }[]): number {
  const edges = spans.flatMap((s) => [
    [s.start, 1],
    [s.end, -1],
  ]);
  edges.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!); // an end before a start at the same ms
  let now = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (now += d!));
  return most;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("a function's CPU share, read from a clock that advances by whole scheduler ticks", () => {
  const hol = new HeadOfLine(undefined, 8, 8);
  // 0.1 ms computing calls on a 4 ms tick: most read no CPU, one in 40 reads a whole tick.
  const tiny = new CallProfile();
  for (let i = 0; i < 200; i++) tiny.record(0.1, i % 40 === 39 ? 4 : 0);
  assert.equal(hol.isCpuBound(tiny), true, 'calls far below a tick leave the share where it was');
  // A 5 ms database wait reads no CPU: two such calls say so.
  const waits = new CallProfile();
  waits.record(5, 0);
  assert.equal(hol.isCpuBound(waits), true, 'one 5 ms call is not enough to tell');
  waits.record(5, 0);
  assert.equal(hol.isCpuBound(waits), false);
  // 5 ms of computing reads one tick or two (4 or 8 ms): it stays CPU-bound.
  const computes = new CallProfile();
  for (let i = 0; i < 50; i++) computes.record(5, i % 4 === 0 ? 8 : 4);
  assert.equal(hol.isCpuBound(computes), true);
  // Turned from computing to waiting: known within a few calls.
  for (let i = 0; i < 3; i++) computes.record(20, 1);
  assert.equal(hol.isCpuBound(computes), false);
});

test('the policy: what is long, what is held back, and for how long', () => {
  const hol = new HeadOfLine(undefined, 8, 8);
  assert.equal(
    hol.classify(new CallProfile()),
    'doubtful',
    'a function never seen is doubtful: it holds a worker alone',
  );
  assert.equal(hol.classify(profile(1.9)), 'short');
  assert.equal(hol.classify(profile(2)), 'long', 'default longCallMs is 2');
  assert.equal(hol.isCpuBound(profile(40, 0.9)), true);
  assert.equal(hol.isCpuBound(profile(40, 0.1)), false, 'a call that mostly waits is not CPU-bound');
  assert.equal(hol.longLimit(0), Infinity, 'no short call yet: long calls use the whole pool');
  hol.shortArrived(1_000);
  assert.equal(hol.longLimit(1_500), 7, '8 cores: one kept free');
  assert.equal(hol.longLimit(1_999), 7);
  assert.equal(hol.longLimit(2_000), Infinity, 'held for holdMs (default 1000) after the last short call');
  assert.equal(hol.holdEndsAt(), 2_000);

  const limit = (size: number, cores: number, reservedCores?: number) => {
    const h = new HeadOfLine(reservedCores === undefined ? {} : { reservedCores }, size, cores);
    h.shortArrived(0);
    return h.longLimit(1);
  };
  assert.equal(limit(2, 2), 1, '2 cores: long calls on one worker');
  assert.equal(limit(4, 2), 1, 'more workers than cores: still a core kept free');
  assert.equal(limit(1, 2), 1, 'never fewer than one');
  assert.equal(limit(1, 1), 1);
  assert.equal(limit(4, 16), 4, 'plenty of cores: the pool is the limit');
  assert.equal(limit(16, 16, 4), 12);

  // Typical, not average: one preempted call among fast ones is not a verdict.
  const bursty = new CallProfile();
  for (const ms of [0.05, 0.05, 0.05, 30, 0.05, 0.05, 0.05, 0.05]) bursty.record(ms);
  assert.equal(hol.classify(bursty), 'short', 'one 30 ms call in 8 leaves a 50 µs function short');
  bursty.record(5);
  assert.equal(hol.classify(bursty), 'short', 'its latest call ran a little long (preempted, say): still short');
  bursty.record(30);
  assert.equal(hol.classify(bursty), 'doubtful', 'its latest call ran clearly long: doubtful, not yet long');
  bursty.record(0.05);
  assert.equal(hol.classify(bursty), 'short');
  bursty.stalled = true;
  assert.equal(hol.classify(bursty), 'doubtful', 'a call of it seen stuck right now: doubtful');
  for (const ms of [30, 30]) bursty.record(ms);
  assert.equal(hol.classify(bursty), 'long', 'half of its latest calls long: long');

  // Held back: the call after two slow calls in a row, not after one among short ones.
  const slowOnce = new CallProfile();
  for (const ms of [0.05, 0.05, 0.05, 15]) slowOnce.record(ms, ms);
  assert.equal(hol.classify(slowOnce), 'doubtful');
  assert.equal(hol.isHoldable(slowOnce), false, 'one slow call (a GC pause, say) is not held back');
  slowOnce.record(15, 15);
  assert.equal(hol.isHoldable(slowOnce), true, 'two in a row are');
  slowOnce.stalled = true;
  slowOnce.record(0.05, 0.05);
  slowOnce.stalled = true;
  assert.equal(hol.isHoldable(slowOnce), true, 'a call of it seen stuck right now is');
  assert.equal(hol.isHoldable(new CallProfile()), true, 'a function never seen is taken to compute');

  const off = new HeadOfLine(false, 2, 2);
  off.shortArrived(0);
  assert.equal(off.classify(profile(100)), 'short', 'off: every call is placed first in, first out');
  assert.equal(off.longLimit(1), Infinity);
  const custom = new HeadOfLine({ longCallMs: 10, holdMs: 50 }, 2, 2);
  assert.equal(custom.classify(profile(9)), 'short');
  custom.shortArrived(0);
  assert.equal(custom.longLimit(49), 1);
  assert.equal(custom.longLimit(50), Infinity);
});

test('a short call does not wait behind long ones, even when every worker holds one', async () => {
  // No hold (holdMs 0): both workers take long calls, so short calls find none free.
  await freshPool({ size: 2, headOfLine: { holdMs: 0 } });
  await getPool().warm(); // the express worker too: what is timed below is waiting, not start-up
  await Promise.all([timedSpin(5), timedSpin(5)]); // learned: long
  await whereSync('learned: short'); // a function never seen holds a worker alone, as it may be long
  const long = [timedSpin(1_000), timedSpin(1_000)];
  await sleep(50);
  const started = performance.now();
  const shorts: { threadId: number }[] = [];
  for (let i = 0; i < 20; i++) shorts.push(await whereSync(`short ${i}`));
  const elapsed = performance.now() - started;
  const longThreads = new Set((await Promise.all(long)).map((r) => r.threadId));
  assert.equal(longThreads.size, 2, 'the long calls held both workers');
  assert.ok(
    shorts.every((s) => !longThreads.has(s.threadId)),
    'no short call ran behind a long one',
  );
  assert.ok(elapsed < 500, `20 short calls took ${elapsed.toFixed(0)} ms while the long ones ran for 1000`);
  const stats = getPool().stats();
  assert.ok(stats.expressCalls >= 20, `${stats.expressCalls} calls on the express worker`);
  assert.equal(stats.workers, 3, 'two workers and the express one');
});

test('a call made before its function proved short moves to the short calls once it does', async () => {
  // One worker, which a long call takes next: the call must go to the express worker.
  await freshPool({ size: 1 });
  await getPool().warm();
  await timedSpin(5); // learned: long
  const first = firstSeen('first'); // never seen: doubtful, it holds the worker alone
  const long = timedSpin(600); // waits for the worker, in the long line
  const second = firstSeen('second'); // still doubtful when made: it waits in the long line too
  await first; // now known short
  const { threadId } = await second;
  const secondDone = Date.now();
  const l = await long;
  assert.notEqual(threadId, l.threadId, 'the second call did not run behind the long one');
  assert.ok(secondDone < l.end, `the second call settled ${secondDone - l.end} ms after the long call ended`);
});

/** Short calls every 5 ms until stopped; resolves with when each was made (performance.now()). */
function shortFlow(): { stop: () => Promise<number[]> } {
  let flowing = true;
  const sent: number[] = [];
  const done = (async () => {
    while (flowing) {
      sent.push(performance.now());
      await whereSync('flow');
      await sleep(5);
    }
  })();
  return {
    stop: async () => {
      flowing = false;
      await done;
      return sent;
    },
  };
}

/** The longest time between two short calls: the hold lasts holdMs after each one. */
function longestGap(times: number[]): number {
  return Math.max(...times.slice(1).map((t, i) => t - times[i]!));
}

test('while short calls arrive, CPU-bound long calls leave a core free, and all of them finish', async () => {
  await freshPool({ size: 2 });
  const expected = Math.max(1, Math.min(2, os.availableParallelism() - 1));
  await Promise.all([timedSpin(5), timedSpin(5)]);
  const flow = shortFlow();
  await sleep(20);
  const spans = await Promise.all(Array.from({ length: 6 }, () => timedSpin(40)));
  const sent = await flow.stop();
  assert.ok(longestGap(sent) < 1_000, 'short calls kept arriving (the hold lasts 1000 ms after each)');
  assert.equal(spans.length, 6, 'every long call finished');
  assert.equal(maxOverlap(spans), expected, `long calls ran ${maxOverlap(spans)} at a time while short calls arrived`);

  // No short call for holdMs: the hold lifts and long calls use the whole pool.
  await sleep(1_050);
  const free = await Promise.all(Array.from({ length: 4 }, () => timedSpin(60)));
  assert.equal(maxOverlap(free), 2, 'with no short calls arriving, long calls use both workers');
});

test('long calls that mostly wait (on a server, a disk) are not held back', async () => {
  await freshPool({ size: 2 });
  await Promise.all([timedSleep(20), timedSleep(20)]); // learned: long, and hardly any CPU
  const flow = shortFlow();
  await sleep(20);
  const spans = await Promise.all(Array.from({ length: 4 }, () => timedSleep(80)));
  assert.ok(longestGap(await flow.stop()) < 1_000, 'short calls kept arriving');
  assert.equal(
    maxOverlap(spans),
    2,
    `both workers took waiting calls while short calls arrived: ${JSON.stringify(spans)}`,
  );
});

test('headOfLine: false gives one first-in, first-out line', async () => {
  await freshPool({ size: 1, headOfLine: false });
  await timedSpin(5);
  const long = timedSpin(300);
  await sleep(30);
  const t = performance.now();
  await whereSync('behind');
  assert.ok(performance.now() - t > 150, 'the short call waited for the long one');
  await long;
  assert.equal(getPool().stats().workers, 1, 'no express worker');
});

test('head-of-line options are validated', () => {
  assert.throws(() => configure({ headOfLine: { longCallMs: -1 } }), /headOfLine\.longCallMs must be a finite number/);
  assert.throws(() => configure({ headOfLine: { holdMs: Number.NaN } }), RangeError);
  assert.throws(
    () => configure({ headOfLine: 'yes' as unknown as boolean }),
    /headOfLine must be true, false or an object/,
  );
});
