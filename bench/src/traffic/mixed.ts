// 6.3 Light calls among long ones: a trivial call every 1 ms, sent on schedule, alone; then closed-loop
// callers of a ≈40 ms synchronous call alone; then both. Light latency counts from each call's intended
// send time (src/lib/arrivals.ts): a sender held up by a busy loop must not hide the wait it caused.
import { setTimeout as sleep } from 'node:timers/promises';
import { median, Recorder } from '../lib/stats.ts';
import { TRAFFIC, type Size } from '../plan.ts';
import { calibrate } from '../tasks.ts';
import { closedLoop, interleavePools, paced, type TrafficInstance } from './pools.ts';

type Pooled = { alone: Recorder; loaded: Recorder; longRunAlone: number[]; longRunLoaded: number[] };
type Opts = { seconds: number; longIters: number; longCallers: number; lightEveryMs: number };

/** Three phases of `seconds`: light calls alone; long calls alone; both, the long callers starting first and stopping last. */
async function block(inst: TrafficInstance, o: Opts, pooled?: Pooled) {
  const [alone, loaded] = [new Recorder(), new Recorder()];
  const every = () => o.lightEveryMs;
  const light = (recs: (Recorder | undefined)[]) => paced(every, o.seconds, (i) => inst.light(i), recs);
  await light([alone, pooled?.alone]);
  let [load, t0] = [closedLoop(inst, o.longCallers, o.longIters), performance.now()];
  await sleep(o.seconds * 1000);
  const longAlone = load.runMs.length / ((performance.now() - t0) / 1000);
  await load.stop();
  pooled?.longRunAlone.push(...load.runMs);

  load = closedLoop(inst, o.longCallers, o.longIters);
  // Let every worker take a long call first: the light calls then arrive at a busy pool.
  await sleep(Math.min(20, o.seconds * 100));
  const c0 = load.runMs.length;
  t0 = performance.now();
  await light([loaded, pooled?.loaded]);
  const longLoaded = (load.runMs.length - c0) / ((performance.now() - t0) / 1000);
  await load.stop();
  pooled?.longRunLoaded.push(...load.runMs);
  const values = { p99Alone: alone.p99(), p99Loaded: loaded.p99(), longAlone, longLoaded };
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
    ({ metrics: x }, pl) => ({
      ...(pl && { alone: pl.alone.result(), loaded: pl.loaded.result() }),
      ...(pl && { longRunMs: { alone: median(pl.longRunAlone), loaded: median(pl.longRunLoaded) } }),
      ...(x.p99Alone && { p99AloneRounds: x.p99Alone }),
      ...(x.p99Loaded && { p99LoadedRounds: x.p99Loaded }),
      ...(x.longAlone && { longAlone: x.longAlone }),
      ...(x.longLoaded && { longLoaded: x.longLoaded }),
    }),
  );
  return { rounds: m.rounds, workers, longMs: m.longMs, ...opts, candidates };
}
