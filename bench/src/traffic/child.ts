// One traffic scenario in its own process, every candidate alive at once and measured in
// interleaved rounds (src/harness.ts): smartasync's pool is per process, and a scenario that
// leaves a pool in a bad state cannot disturb the next one.
import { readFileSync, writeFileSync } from 'node:fs';
import { interleave } from '../harness.ts';
import type { CandidateResult } from '../job.ts';
import type { Size } from '../plan.ts';
import type { CandidateInfo } from '../types.ts';
import { pickCandidates, type TrafficCandidate, type TrafficInstance } from './candidates.ts';
import { Recorder } from './hist.ts';
import { TRAFFIC } from './params.ts';
import { closedLoop, mixedBlock, openLoopRun, spacedBlock, type MixedPooled } from './scenarios.ts';
import {
  GAPS,
  type CandidateMeta,
  type Gap,
  type MixedResult,
  type OpenLoopResult,
  type SpacedResult,
} from './types.ts';
import { calibrate } from './work.ts';

export type Scenario = 'spaced' | 'openloop' | 'mixed';

export interface TrafficJob {
  scenario: Scenario;
  size: Size;
  only?: string[];
}

type Log = (m: string) => void;

/** The candidates as the harness wants them, remembering which instance is whose. */
function prepare(job: TrafficJob, workers: number) {
  const byInst = new Map<TrafficInstance, TrafficCandidate>();
  const cs = pickCandidates(job.only).map((c) => ({
    info: {
      id: c.id,
      lib: c.lib,
      kind: c.kind,
      config: c.kind === 'baseline' ? '-' : 'default',
      note: c.note,
    } satisfies CandidateInfo,
    create: async () => {
      const inst = await c.create({ workers });
      byInst.set(inst, c);
      return inst;
    },
  }));
  const starts = new Map<string, TrafficInstance['start']>();
  const idOf = (inst: TrafficInstance) => {
    const c = byInst.get(inst)!;
    starts.set(c.id, inst.start);
    return c.id;
  };
  const meta = (r: CandidateResult): CandidateMeta => ({
    id: r.id,
    lib: r.lib,
    kind: r.kind,
    note: r.note,
    ...(starts.has(r.id) ? { start: starts.get(r.id)! } : {}),
    ...(r.error ? { error: r.error } : {}),
  });
  return { cs, idOf, meta };
}

async function spaced(job: TrafficJob, log: Log): Promise<SpacedResult> {
  const p = TRAFFIC[job.size];
  const slowIters = calibrate(3);
  const { cs, idOf, meta } = prepare(job, p.workers);
  const pooled = new Map<string, Record<Gap, Recorder>>();
  const results = await interleave<TrafficInstance>(
    { rounds: p.spaced.rounds },
    cs,
    (inst, round) => {
      const id = idOf(inst);
      if (round < 0) return spacedBlock(inst, Math.max(5, Math.ceil(p.spaced.calls / 4)), slowIters, undefined);
      if (!pooled.has(id))
        pooled.set(id, Object.fromEntries(GAPS.map((g) => [g, new Recorder()])) as Record<Gap, Recorder>);
      return spacedBlock(inst, p.spaced.calls, slowIters, pooled.get(id));
    },
    log,
  );
  return {
    rounds: p.spaced.rounds,
    calls: p.spaced.calls,
    workers: p.workers,
    slowIters,
    candidates: results.map((r) => {
      const recs = pooled.get(r.id);
      const gaps: SpacedResult['candidates'][number]['gaps'] = {};
      for (const g of GAPS) {
        const spread = r.metrics[`p99_ms_${g}`];
        if (recs && spread) gaps[g] = { ...recs[g].result(), p99Rounds: spread };
      }
      return { ...meta(r), gaps };
    }),
  };
}

const IN_FLIGHT = 64;

async function openloop(job: TrafficJob, log: Log): Promise<OpenLoopResult> {
  const p = TRAFFIC[job.size];
  const o = p.openloop;
  const workIters = calibrate(o.workMs);
  const { cs, idOf, meta } = prepare(job, p.workers);
  const saturation = new Map<string, number>();
  const pooled = new Map<string, Recorder[]>();
  const achieved = new Map<string, number[][]>();
  let rates: number[] | undefined;
  const results = await interleave<TrafficInstance>(
    { rounds: o.rounds },
    cs,
    async (inst, round) => {
      const id = idOf(inst);
      if (round < 0) {
        // The warm-up block measures each candidate's closed-loop throughput (after a short
        // unmeasured run): the open-loop rates are set from the lowest of them.
        await closedLoop(inst, Math.min(0.3, o.saturationSeconds), workIters, IN_FLIGHT);
        const sat = await closedLoop(inst, o.saturationSeconds, workIters, IN_FLIGHT);
        saturation.set(id, sat);
        log(`  ${id}: saturation ${Math.round(sat)} calls/s closed loop`);
        return { values: {} };
      }
      if (!rates) {
        const floor = Math.min(...saturation.values());
        rates = o.fractions.map((f) => Math.max(10, Math.round(f * floor)));
        log(`  rates: ${rates.join(', ')} calls/s`);
      }
      if (!pooled.has(id)) {
        pooled.set(
          id,
          rates.map(() => new Recorder()),
        );
        achieved.set(
          id,
          rates.map(() => []),
        );
      }
      const values: Record<string, number> = {};
      // Every rate once, unmeasured, before the first round: the first run at a new, higher
      // rate pays for the heap and JIT adjusting to it.
      if (round === 0)
        for (const [k, rate] of rates.entries())
          await openLoopRun(inst, rate, Math.min(0.3, o.seconds / 4), workIters, 999 + k, [new Recorder()]);
      for (const [k, rate] of rates.entries()) {
        const rec = new Recorder();
        const res = await openLoopRun(inst, rate, o.seconds, workIters, 1000 * round + k, [rec, pooled.get(id)![k]!]);
        values[`p99_ms_r${k}`] = rec.p99();
        achieved.get(id)![k]!.push(res.achieved);
        rec.destroy();
      }
      return { values };
    },
    log,
  );
  const floor = saturation.size ? Math.min(...saturation.values()) : Number.NaN;
  return {
    rounds: o.rounds,
    seconds: o.seconds,
    workers: p.workers,
    workMs: o.workMs,
    workIters,
    inFlight: IN_FLIGHT,
    saturation: floor,
    rates: rates ?? [],
    candidates: results.map((r) => {
      const recs = pooled.get(r.id);
      const sat = saturation.get(r.id);
      return {
        ...meta(r),
        ...(sat !== undefined ? { saturation: sat } : {}),
        points: (rates ?? []).flatMap((rate, k) => {
          const spread = r.metrics[`p99_ms_r${k}`];
          if (!recs || !spread) return [];
          const ach = achieved.get(r.id)![k]!;
          return [
            { rate, achieved: ach.reduce((a, b) => a + b, 0) / ach.length, rec: recs[k]!.result(), p99Rounds: spread },
          ];
        }),
      };
    }),
  };
}

async function mixed(job: TrafficJob, log: Log): Promise<MixedResult> {
  const p = TRAFFIC[job.size];
  const m = p.mixed;
  const longIters = calibrate(m.longMs);
  const { cs, idOf, meta } = prepare(job, p.workers);
  const pooled = new Map<string, MixedPooled>();
  const opts = { seconds: m.seconds, longIters, longCallers: m.longCallers, lightEveryMs: m.lightEveryMs };
  const results = await interleave<TrafficInstance>(
    { rounds: m.rounds },
    cs,
    (inst, round) => {
      const id = idOf(inst);
      if (round < 0) return mixedBlock(inst, { ...opts, seconds: Math.min(0.5, m.seconds) }, undefined);
      if (!pooled.has(id))
        pooled.set(id, { alone: new Recorder(), loaded: new Recorder(), longRunAlone: [], longRunLoaded: [] });
      return mixedBlock(inst, opts, pooled.get(id));
    },
    log,
  );
  const med = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length ? s[Math.ceil(s.length / 2) - 1]! : Number.NaN;
  };
  return {
    rounds: m.rounds,
    seconds: m.seconds,
    workers: p.workers,
    longMs: m.longMs,
    longIters,
    longCallers: m.longCallers,
    lightEveryMs: m.lightEveryMs,
    candidates: results.map((r) => {
      const pl = pooled.get(r.id);
      return {
        ...meta(r),
        ...(pl
          ? {
              alone: pl.alone.result(),
              loaded: pl.loaded.result(),
              longRunMs: { alone: med(pl.longRunAlone), loaded: med(pl.longRunLoaded) },
            }
          : {}),
        ...(r.metrics.light_p99_alone_ms ? { p99AloneRounds: r.metrics.light_p99_alone_ms } : {}),
        ...(r.metrics.light_p99_loaded_ms ? { p99LoadedRounds: r.metrics.light_p99_loaded_ms } : {}),
        ...(r.metrics.long_per_s_alone ? { longAlone: r.metrics.long_per_s_alone } : {}),
        ...(r.metrics.long_per_s_loaded ? { longLoaded: r.metrics.long_per_s_loaded } : {}),
      };
    }),
  };
}

export function runScenario(job: TrafficJob, log: Log): Promise<SpacedResult | OpenLoopResult | MixedResult> {
  return job.scenario === 'spaced'
    ? spaced(job, log)
    : job.scenario === 'openloop'
      ? openloop(job, log)
      : mixed(job, log);
}

// Entry point when spawned by the runner: `child.ts <job.json> <out.json>`.
if (import.meta.main) {
  const [jobFile, outFile] = process.argv.slice(2);
  const job = JSON.parse(readFileSync(jobFile!, 'utf8')) as TrafficJob;
  const result = await runScenario(job, (m) => process.stderr.write(m + '\n'));
  writeFileSync(outFile!, JSON.stringify(result));
  // Pools may keep handles open after close; the result is written, so leave now.
  process.exit(0);
}
