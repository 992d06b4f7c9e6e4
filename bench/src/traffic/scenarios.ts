// The traffic scenarios, each a block that one candidate runs per round: spaced calls,
// open-loop Poisson arrivals, and light calls mixed with long ones.
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlockOut } from '../harness.ts';
import { Recorder } from './hist.ts';
import type { TrafficInstance } from './candidates.ts';
import type { Stamp } from './work.ts';
import { GAPS, type Gap } from './types.ts';

function check(r: Stamp, a: number): void {
  if (r.a !== a) throw new Error(`wrong result: ${JSON.stringify(r)} for a=${a}`);
}

// ---- spaced calls ------------------------------------------------------------------------

const GAP_WAIT: Record<Gap, () => Promise<unknown>> = {
  setImmediate: () => new Promise((resolve) => setImmediate(resolve)),
  '1ms': () => sleep(1),
  '10ms': () => sleep(10),
};

/**
 * The state the stall appears in (issue 7): a burst of concurrent calls, then a few slower
 * calls, two at once and one alone. Driven before every block rather than hoped for.
 */
export async function driveState(inst: TrafficInstance, slowIters: number): Promise<void> {
  const burst = await Promise.all(Array.from({ length: 16 }, (_, i) => inst.light(i)));
  burst.forEach((r, i) => check(r, i));
  const slow = await Promise.all([inst.spin(1, slowIters), inst.spin(2, slowIters)]);
  slow.forEach((r, i) => check(r, i + 1));
  check(await inst.spin(3, slowIters), 3);
}

/** One call at a time, a gap (setImmediate, 1 ms or 10 ms timer) between calls, after driving the state. */
export async function spacedBlock(
  inst: TrafficInstance,
  calls: number,
  slowIters: number,
  pooled: Partial<Record<Gap, Recorder>> | undefined,
): Promise<BlockOut> {
  const values: Record<string, number> = {};
  for (const gap of GAPS) {
    await driveState(inst, slowIters);
    const round = new Recorder();
    for (let i = 0; i < calls; i++) {
      await GAP_WAIT[gap]();
      const t0 = performance.now();
      const r = await inst.light(i);
      const t1 = performance.now();
      check(r, i);
      round.record(t0, t0, t1, r);
      pooled?.[gap]?.record(t0, t0, t1, r);
    }
    values[`p99_ms_${gap}`] = round.p99();
    round.destroy();
  }
  return { values };
}

// ---- open loop ---------------------------------------------------------------------------

/** A small seeded PRNG (mulberry32): every candidate gets the same arrival times. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Sends on a schedule fixed in advance, whatever the replies do (an open loop): each call has an
 * intended send time; a timer wakes the sender, which sends every call that is due. Latency is
 * then measured from the intended time, so a sender held up by a busy event loop does not hide
 * the queueing it caused (coordinated omission, as wrk2 avoids it). Resolves with the number of
 * calls sent once the schedule is over (not when they settle).
 */
export function pace(
  nextGapMs: () => number,
  durationMs: number,
  send: (i: number, intended: number) => void,
): Promise<number> {
  return new Promise((resolve) => {
    const start = performance.now() + 1;
    const end = start + durationMs;
    let next = start;
    let i = 0;
    const tick = () => {
      const now = performance.now();
      while (next <= now && next < end) {
        send(i++, next);
        next += nextGapMs();
      }
      if (next >= end) resolve(i);
      else setTimeout(tick, Math.max(0, next - performance.now()));
    };
    setTimeout(tick, 1);
  });
}

/** Settles when `n` calls have settled, or rejects with the first failure. */
class Outstanding {
  private n = 0;
  private failed: unknown;
  private waiter: { resolve: () => void; reject: (e: unknown) => void } | undefined;
  add<T>(p: Promise<T>, then: (v: T) => void): void {
    this.n++;
    p.then(then).then(
      () => this.done(),
      (e: unknown) => {
        this.failed ??= e;
        this.done();
      },
    );
  }
  private done(): void {
    if (--this.n === 0 && this.waiter) {
      if (this.failed !== undefined) this.waiter.reject(this.failed);
      else this.waiter.resolve();
    }
  }
  drain(): Promise<void> {
    if (this.n === 0) return this.failed !== undefined ? Promise.reject(this.failed) : Promise.resolve();
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }
}

/** Poisson arrivals at `rate` calls/s for `seconds`, each call `workIters` of CPU. */
export async function openLoopRun(
  inst: TrafficInstance,
  rate: number,
  seconds: number,
  workIters: number,
  seed: number,
  recs: Recorder[],
): Promise<{ achieved: number }> {
  const random = rng(seed);
  const out = new Outstanding();
  const t0 = performance.now();
  await pace(
    () => (-Math.log(1 - random()) * 1000) / rate,
    seconds * 1000,
    (i, intended) => {
      const sent = performance.now();
      out.add(inst.spin(i, workIters), (r) => {
        const settled = performance.now();
        check(r, i);
        for (const rec of recs) rec.record(intended, sent, settled, r);
      });
    },
  );
  await out.drain();
  const n = recs[0]?.count ?? 0;
  return { achieved: n / ((performance.now() - t0) / 1000) };
}

/** Closed loop: `inFlight` lanes each issue their next call as soon as the previous settles. */
export async function closedLoop(
  inst: TrafficInstance,
  seconds: number,
  workIters: number,
  inFlight: number,
): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  let next = 0;
  const t0 = performance.now();
  async function lane(): Promise<void> {
    while (performance.now() < end) {
      const a = next++;
      check(await inst.spin(a, workIters), a);
      done++;
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane));
  return done / ((performance.now() - t0) / 1000);
}

// ---- mixed: light calls while long calls saturate the pool --------------------------------

interface LongLoad {
  /** stops the callers, resolves when their calls in flight have settled */
  stop(): Promise<void>;
  /** long calls completed so far, and their worker run times */
  completed(): number;
  runMs: number[];
}

function longLoad(inst: TrafficInstance, callers: number, iters: number): LongLoad {
  let running = true;
  let completed = 0;
  let a = 0;
  const runMs: number[] = [];
  const lanes = Array.from({ length: callers }, async () => {
    while (running) {
      const id = a++;
      const r = await inst.spin(id, iters);
      check(r, id);
      if (running) {
        completed++;
        runMs.push(r.r);
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(lanes);
    },
    completed: () => completed,
    runMs,
  };
}

/** Light calls on a fixed schedule (one every `everyMs`), latency from each call. */
async function lightCalls(inst: TrafficInstance, seconds: number, everyMs: number, recs: Recorder[]): Promise<void> {
  const out = new Outstanding();
  await pace(
    () => everyMs,
    seconds * 1000,
    (i) => {
      const sent = performance.now();
      out.add(inst.light(i), (r) => {
        const settled = performance.now();
        check(r, i);
        for (const rec of recs) rec.record(sent, sent, settled, r);
      });
    },
  );
  await out.drain();
}

export interface MixedPooled {
  alone: Recorder;
  loaded: Recorder;
  longRunAlone: number[];
  longRunLoaded: number[];
}

/**
 * Three phases of `seconds` each: light calls alone; long calls alone (closed-loop callers);
 * both at once. The long callers start before the light calls and stop after them.
 */
export async function mixedBlock(
  inst: TrafficInstance,
  o: { seconds: number; longIters: number; longCallers: number; lightEveryMs: number },
  pooled: MixedPooled | undefined,
): Promise<BlockOut> {
  const alone = new Recorder();
  await lightCalls(inst, o.seconds, o.lightEveryMs, pooled ? [alone, pooled.alone] : [alone]);

  let load = longLoad(inst, o.longCallers, o.longIters);
  let t0 = performance.now();
  await sleep(o.seconds * 1000);
  let n = load.completed();
  let secs = (performance.now() - t0) / 1000;
  await load.stop();
  const longAlone = n / secs;
  pooled?.longRunAlone.push(...load.runMs);

  const loaded = new Recorder();
  load = longLoad(inst, o.longCallers, o.longIters);
  // Let every worker take a long call first: the light calls then arrive at a busy pool.
  await sleep(Math.min(20, o.seconds * 100));
  const c0 = load.completed();
  t0 = performance.now();
  await lightCalls(inst, o.seconds, o.lightEveryMs, pooled ? [loaded, pooled.loaded] : [loaded]);
  n = load.completed() - c0;
  secs = (performance.now() - t0) / 1000;
  await load.stop();
  pooled?.longRunLoaded.push(...load.runMs);

  const values = {
    light_p99_alone_ms: alone.p99(),
    light_p99_loaded_ms: loaded.p99(),
    long_per_s_alone: longAlone,
    long_per_s_loaded: n / secs,
  };
  alone.destroy();
  loaded.destroy();
  return { values };
}
