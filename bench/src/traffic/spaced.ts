// 6.1 Spaced calls: one light call at a time with a gap between calls (setImmediate, a 1 ms and a
// 10 ms timer), after driving the state in which calls used to stall (issue 7). Every call recorded.
import { setTimeout as sleep } from 'node:timers/promises';
import { Recorder, type Recorded, type Spread } from '../lib/stats.ts';
import { TRAFFIC, type Size } from '../plan.ts';
import { calibrate } from '../tasks.ts';
import { check, interleavePools, type TrafficInstance } from './pools.ts';

export const GAPS = ['setImmediate', '1ms', '10ms'] as const;
export type Gap = (typeof GAPS)[number];
const WAIT: Record<Gap, () => Promise<unknown>> = {
  setImmediate: () => new Promise((resolve) => setImmediate(resolve)),
  '1ms': () => sleep(1),
  '10ms': () => sleep(10),
};

/** A burst of 16 concurrent calls, then two ≈3 ms calls at once and one alone: driven before every block, not hoped for. */
async function driveState(inst: TrafficInstance, slowIters: number): Promise<void> {
  (await Promise.all(Array.from({ length: 16 }, (_, i) => inst.light(i)))).forEach(check);
  (await Promise.all([inst.spin(1, slowIters), inst.spin(2, slowIters)])).forEach((r, i) => check(r, i + 1));
  check(await inst.spin(3, slowIters), 3);
}

async function block(inst: TrafficInstance, calls: number, slowIters: number, pooled?: Record<Gap, Recorder>) {
  const values: Record<string, number> = {};
  for (const gap of GAPS) {
    await driveState(inst, slowIters);
    const round = new Recorder();
    for (let i = 0; i < calls; i++) {
      await WAIT[gap]();
      const t0 = performance.now();
      const r = await inst.light(i);
      const t1 = performance.now();
      check(r, i);
      round.call(t0, t0, t1, r);
      pooled?.[gap].call(t0, t0, t1, r);
    }
    values[`p99_ms_${gap}`] = round.p99();
    round.destroy();
  }
  return { values };
}

export type SpacedResult = Awaited<ReturnType<typeof spaced>>;

export async function spaced({ size, only }: { size: Size; only?: string[] }) {
  const { workers, spaced: p } = TRAFFIC[size];
  const slowIters = calibrate(3);
  const candidates = await interleavePools(
    { only, workers, rounds: p.rounds },
    () => Object.fromEntries(GAPS.map((g) => [g, new Recorder()])) as Record<Gap, Recorder>,
    (inst, round, pooled) => block(inst, round < 0 ? Math.max(5, Math.ceil(p.calls / 4)) : p.calls, slowIters, pooled),
    (r, recs) => {
      const gaps: Partial<Record<Gap, Recorded & { p99Rounds: Spread }>> = {};
      for (const g of GAPS)
        if (recs && r.metrics[`p99_ms_${g}`]) gaps[g] = { ...recs[g].result(), p99Rounds: r.metrics[`p99_ms_${g}`]! };
      return { gaps };
    },
  );
  return { rounds: p.rounds, calls: p.calls, workers, slowIters, candidates };
}
