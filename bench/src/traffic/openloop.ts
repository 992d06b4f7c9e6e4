// 6.2 Open-loop arrivals: each pool's closed-loop throughput (64 in flight, calls of ≈50 µs of CPU)
// first, then Poisson arrivals at fractions of the lowest, the same seeded schedule for every pool.
// Latency counts from each call's intended send time (src/lib/arrivals.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { poisson, rng } from '../lib/arrivals.ts';
import { Recorder, sum } from '../lib/stats.ts';
import { TRAFFIC, type Size } from '../plan.ts';
import { calibrate } from '../tasks.ts';
import { closedLoop, interleavePools, paced, type TrafficInstance } from './pools.ts';

const IN_FLIGHT = 64;

/** Poisson arrivals at `rate` calls/s for `seconds`, each call `workIters` of CPU; every call goes to every recorder. */
export const openLoopRun = (
  inst: TrafficInstance,
  rate: number,
  seconds: number,
  workIters: number,
  seed: number,
  recs: (Recorder | undefined)[],
) => paced(poisson(rate, rng(seed)), seconds, (i) => inst.spin(i, workIters), recs);

export type OpenLoopResult = Awaited<ReturnType<typeof openloop>>;

export async function openloop({ size, only }: { size: Size; only?: string[] }) {
  const { workers, openloop: o } = TRAFFIC[size];
  const workIters = calibrate(o.workMs);
  /** Calls/s completed by `IN_FLIGHT` closed-loop callers over `seconds`. */
  const closed = async (inst: TrafficInstance, seconds: number) => {
    const [load, t0] = [closedLoop(inst, IN_FLIGHT, workIters), performance.now()];
    await sleep(seconds * 1000);
    const perS = load.runMs.length / ((performance.now() - t0) / 1000);
    await load.stop();
    return perS;
  };
  const saturation = new Map<string, number>();
  let rates: number[] = [];
  const candidates = await interleavePools(
    { only, workers, rounds: o.rounds },
    () => ({ recs: o.fractions.map(() => new Recorder()), achieved: o.fractions.map((): number[] => []) }),
    async (inst, round, mine, id) => {
      if (!mine) {
        // The warm-up block measures each pool's closed-loop throughput, after a short unmeasured run.
        await closed(inst, Math.min(0.3, o.saturationSeconds));
        saturation.set(id, await closed(inst, o.saturationSeconds));
        process.stderr.write(`  ${id}: saturation ${Math.round(saturation.get(id)!)} calls/s closed loop\n`);
        return { values: {} };
      }
      if (!rates.length) {
        rates = o.fractions.map((f) => Math.max(10, Math.round(f * Math.min(...saturation.values()))));
        process.stderr.write(`  rates: ${rates.join(', ')} calls/s\n`);
      }
      // Every rate once, unmeasured, before the first round: the first run at a new, higher rate pays
      // for the heap and JIT adjusting to it.
      if (round === 0)
        for (const [k, rate] of rates.entries())
          await openLoopRun(inst, rate, Math.min(0.3, o.seconds / 4), workIters, 999 + k, []);
      const values: Record<string, number> = {};
      for (const [k, rate] of rates.entries()) {
        const rec = new Recorder();
        const res = await openLoopRun(inst, rate, o.seconds, workIters, 1000 * round + k, [rec, mine.recs[k]]);
        values[`p99_ms_r${k}`] = rec.p99();
        mine.achieved[k]!.push(res.achieved);
        rec.destroy();
      }
      return { values };
    },
    (r, mine) => {
      const points = rates.flatMap((rate, k) => {
        const p99Rounds = r.metrics[`p99_ms_r${k}`];
        if (!mine || !p99Rounds) return [];
        const achieved = sum(mine.achieved[k]!, (x) => x) / mine.achieved[k]!.length;
        return [{ rate, achieved, rec: mine.recs[k]!.result(), p99Rounds }];
      });
      // No saturation (undefined, left out of the JSON) for a pool that failed before measuring it.
      return { saturation: saturation.get(r.id), points };
    },
  );
  const floor = saturation.size ? Math.min(...saturation.values()) : Number.NaN;
  const { rounds, seconds, workMs } = o;
  return { rounds, seconds, workers, workMs, workIters, inFlight: IN_FLIGHT, saturation: floor, rates, candidates };
}
