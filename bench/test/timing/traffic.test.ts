// The traffic section's measuring parts on their own, against pools whose behaviour is known.
// They time things, so they run before the smoke tests (in test/), which run two at a time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pace } from '../../src/lib/arrivals.ts';
import { Recorder } from '../../src/lib/stats.ts';
import { wallMs, type Stamp } from '../../src/tasks.ts';
import { openLoopRun } from '../../src/traffic/openloop.ts';
import { POOLS, type TrafficInstance } from '../../src/traffic/pools.ts';

/** A "pool" of one thread that serves one call at a time, each taking `ms`: a server that falls behind. */
function serialPool(ms: number): TrafficInstance {
  let tail: Promise<unknown> = Promise.resolve();
  const run = (a: number): Promise<Stamp> => {
    const p = tail.then(async () => {
      const t = wallMs();
      await sleep(ms);
      return { a, t, r: wallMs() - t };
    });
    tail = p;
    return p;
  };
  return {
    light: run,
    spin: (a) => run(a),
    lookup: run,
    workers: () => 1,
    close: async () => {},
    start: { method: 'online', ms: 0 },
  };
}

test('open-loop latency counts from the intended send time, so a pool that falls behind shows its queue', async () => {
  // 100 calls/s offered to a pool that serves 50/s: for 0.6 s the queue only grows.
  const rec = new Recorder();
  const pool = serialPool(20);
  const res = await openLoopRun(pool, 100, 0.6, 0, 42, [rec]);
  const r = rec.result();
  // Each call is served in 20 ms, but the last ones waited behind ≈60 calls: a closed-loop
  // measure (next call sent when the previous returns) would report 20 ms throughout.
  assert.ok(r.latency.count >= 40 && r.latency.count <= 90, `${r.latency.count} calls`);
  assert.ok(r.split.run.p50 >= 15 && r.split.run.p50 < 60, `run p50 ${r.split.run.p50}`);
  assert.ok(r.latency.max > 400, `max ${r.latency.max} ms from the intended send time`);
  assert.ok(r.split.queue.p99 > 300, `waited to start p99 ${r.split.queue.p99} ms`);
  assert.ok(res.achieved < 70, `completed ${res.achieved} calls/s, under the offered 100`);
  rec.destroy();
});

test('pace sends on its schedule whatever the replies do, and late sends keep their intended times', async () => {
  const intended: number[] = [];
  const actual: number[] = [];
  const n = await pace(
    () => 5,
    100,
    (_i, at) => {
      intended.push(at);
      actual.push(performance.now());
      // A sender blocked for 30 ms: the calls due meanwhile go out together afterwards.
      if (intended.length === 3) {
        const end = performance.now() + 30;
        while (performance.now() < end);
      }
    },
  );
  assert.equal(n, 20);
  assert.equal(intended.length, 20);
  for (let i = 1; i < n; i++)
    assert.ok(Math.abs(intended[i]! - intended[i - 1]! - 5) < 1e-9, 'intended times are exactly 5 ms apart');
  for (let i = 0; i < n; i++) assert.ok(actual[i]! >= intended[i]!, 'never sent early');
  // The calls due during the block were sent late, not dropped or re-timed.
  assert.ok(actual[4]! - intended[4]! > 15, `call 4 sent ${actual[4]! - intended[4]!} ms late`);
});

test('a call is split into waiting to start, running and reply delivery from the worker stamps', () => {
  const rec = new Recorder();
  const sent = performance.now();
  const stamp: Stamp = { a: 0, t: performance.timeOrigin + sent + 5, r: 1 };
  rec.call(sent - 2, sent, sent + 10, stamp);
  const r = rec.result();
  const near = (x: number, y: number) => Math.abs(x - y) < 0.01;
  assert.ok(near(r.latency.p50, 12), `total ${r.latency.p50}`); // from the intended time, 2 ms before the send
  assert.ok(near(r.split.lag.p50, 2), `lag ${r.split.lag.p50}`);
  assert.ok(near(r.split.queue.p50, 5), `queue ${r.split.queue.p50}`);
  assert.ok(near(r.split.run.p50, 1), `run ${r.split.run.p50}`);
  assert.ok(near(r.split.reply.p50, 4), `reply ${r.split.reply.p50}`);
  assert.equal(r.slow.count, 1);
  assert.equal(r.latency.over5ms, 1);
  rec.destroy();
});

test('worker stamps and the caller share one clock: every stamp falls between the call and its reply', async () => {
  for (const c of POOLS.filter((x) => x.kind !== 'subject')) {
    const pool = await c.create({ workers: 2 });
    try {
      for (let i = 0; i < 50; i++) {
        const before = wallMs();
        const r = await pool.light(i);
        const after = wallMs();
        assert.equal(r.a, i);
        assert.ok(
          r.t >= before && r.t + r.r <= after,
          `${c.id}: stamp ${r.t - before} ms after the call, reply ${after - r.t - r.r} ms after the body`,
        );
      }
    } finally {
      await pool.close();
    }
  }
});

test('a percentile is never reported above the largest value recorded', () => {
  // HdrHistogram reports a value as the top of its bucket, which can exceed the value itself.
  const rec = new Recorder();
  const at = performance.now();
  rec.call(at, at, at + 20.613, { a: 0, t: performance.timeOrigin + at, r: 0 });
  const r = rec.result();
  assert.equal(r.latency.max, 20.613);
  assert.ok(r.latency.p99 <= r.latency.max && r.latency.p999 <= r.latency.max && rec.p99() <= r.latency.max);
  rec.destroy();
});
