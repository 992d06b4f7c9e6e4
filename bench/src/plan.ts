// Which jobs a run consists of, and how long each measures, per run size.
import type { Job, Mode, Section } from './job.ts';

export type Size = 'smoke' | 'quick' | 'full';

export interface Params {
  rounds: number;
  block: number;
}

export const PARAMS: Record<
  Size,
  Record<Section, Params> & { app: { seconds: number; rounds: number; warmup: number } }
> = {
  // Only proves the pipeline end to end; the figures mean nothing.
  smoke: {
    roundtrip: { rounds: 2, block: 30 },
    throughput: { rounds: 2, block: 600 },
    payload: { rounds: 2, block: 5 },
    sync: { rounds: 2, block: 30 },
    app: { seconds: 1, rounds: 1, warmup: 1 },
  },
  // Odd round counts, so the median over rounds is one real round.
  quick: {
    roundtrip: { rounds: 7, block: 1500 },
    throughput: { rounds: 3, block: 8000 },
    payload: { rounds: 5, block: 80 },
    sync: { rounds: 7, block: 1500 },
    app: { seconds: 3, rounds: 1, warmup: 1 },
  },
  full: {
    roundtrip: { rounds: 15, block: 4000 },
    throughput: { rounds: 9, block: 20000 },
    payload: { rounds: 11, block: 300 },
    sync: { rounds: 15, block: 4000 },
    app: { seconds: 8, rounds: 3, warmup: 2 },
  },
};

export const IN_FLIGHT = 256;

export interface PlanOptions {
  size: Size;
  sections: Section[];
  modes: Mode[];
  workers: number[];
  only?: string[];
  adapters: string[];
}

export function plan(o: PlanOptions): Job[] {
  const jobs: Job[] = [];
  for (const section of o.sections) {
    const p = PARAMS[o.size][section];
    // Latency sections use one worker: with more, successive calls alternate between threads
    // and each finds its worker asleep, which measures the scheduler, not the library.
    const sizes = section === 'throughput' ? o.workers : [1];
    for (const workers of sizes) {
      for (const mode of o.modes) {
        jobs.push({
          section,
          mode,
          workers,
          rounds: p.rounds,
          block: p.block,
          inFlight: IN_FLIGHT,
          only: o.only,
          adapters: o.adapters,
        });
      }
    }
  }
  return jobs;
}
