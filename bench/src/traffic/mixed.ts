// 6.3 Light calls among long ones: a trivial call every 1 ms, sent on schedule, alone; then closed-loop
// callers of a ≈40 ms synchronous call alone; then both. Light latency counts from each call's intended
// send time (src/lib/arrivals.ts): a sender held up by a busy loop must not hide the wait it caused.
import { setTimeout as sleep } from 'node:timers/promises';
import { median, Recorder } from '../lib/stats.ts';
import { TRAFFIC, type Size } from '../plan.ts';
import { calibrate } from '../tasks.ts';
import { check, interleavePools, paced, type TrafficInstance } from './pools.ts';

/** `callers` closed-loop callers of the long call until stop(); completed calls and their worker run times. */
function longLoad(inst: TrafficInstance, callers: number, iters: number) {
  let [running, completed, next] = [true, 0, 0];
  const runMs: number[] = [];
  const lanes = Array.from({ length: callers }, async () => {
    for (let a = next++; running; a = next++) {
      const r = await inst.spin(a, iters);
      check(r, a);
      if (running) {
        completed++;
        runMs.push(r.r);
      }
    }
  });
  const stop = async () => void ((running = false), await Promise.all(lanes));
  return { stop, completed: () => completed, runMs };
}

const lightCalls = (inst: TrafficInstance, seconds: number, everyMs: number, recs: Recorder[]) => {
  const gap = () => everyMs;
  return paced(gap, seconds, (i) => inst.light(i), recs);
};

type Pooled = { alone: Recorder; loaded: Recorder; longRunAlone: number[]; longRunLoaded: number[] };
type Opts = { seconds: number; longIters: number; longCallers: number; lightEveryMs: number };

/** Three phases of `seconds`: light calls alone; long calls alone; both, the long callers starting first and stopping last. */
async function block(inst: TrafficInstance, o: Opts, pooled?: Pooled) {
  const [alone, loaded] = [new Recorder(), new Recorder()];
  await lightCalls(inst, o.seconds, o.lightEveryMs, pooled ? [alone, pooled.alone] : [alone]);
  let load = longLoad(inst, o.longCallers, o.longIters);
  let t0 = performance.now();
  await sleep(o.seconds * 1000);
  const longAlone = load.completed() / ((performance.now() - t0) / 1000);
  await load.stop();
  pooled?.longRunAlone.push(...load.runMs);

  load = longLoad(inst, o.longCallers, o.longIters);
  // Let every worker take a long call first: the light calls then arrive at a busy pool.
  await sleep(Math.min(20, o.seconds * 100));
  const c0 = load.completed();
  t0 = performance.now();
  await lightCalls(inst, o.seconds, o.lightEveryMs, pooled ? [loaded, pooled.loaded] : [loaded]);
  const longLoaded = (load.completed() - c0) / ((performance.now() - t0) / 1000);
  await load.stop();
  pooled?.longRunLoaded.push(...load.runMs);
  const values = {
    light_p99_alone_ms: alone.p99(),
    light_p99_loaded_ms: loaded.p99(),
    long_per_s_alone: longAlone,
    long_per_s_loaded: longLoaded,
  };
  alone.destroy();
  loaded.destroy();
  return { values };
}

export type MixedResult = Awaited<ReturnType<typeof mixed>>;

export async function mixed({ size, only }: { size: Size; only?: string[] }) {
  const { workers, mixed: m } = TRAFFIC[size];
  const longIters = calibrate(m.longMs);
  const opts = { seconds: m.seconds, longIters, longCallers: m.longCallers, lightEveryMs: m.lightEveryMs };
  const candidates = await interleavePools(
    { only, workers, rounds: m.rounds },
    (): Pooled => ({ alone: new Recorder(), loaded: new Recorder(), longRunAlone: [], longRunLoaded: [] }),
    (inst, _round, pooled) => block(inst, pooled ? opts : { ...opts, seconds: Math.min(0.5, m.seconds) }, pooled),
    (r, pl) => {
      const x = r.metrics;
      return {
        ...(pl && { alone: pl.alone.result(), loaded: pl.loaded.result() }),
        ...(pl && { longRunMs: { alone: median(pl.longRunAlone), loaded: median(pl.longRunLoaded) } }),
        ...(x.light_p99_alone_ms && { p99AloneRounds: x.light_p99_alone_ms }),
        ...(x.light_p99_loaded_ms && { p99LoadedRounds: x.light_p99_loaded_ms }),
        ...(x.long_per_s_alone && { longAlone: x.long_per_s_alone }),
        ...(x.long_per_s_loaded && { longLoaded: x.long_per_s_loaded }),
      };
    },
  );
  return { rounds: m.rounds, workers, longMs: m.longMs, ...opts, candidates };
}
