// Which jobs a run consists of, and how long each measures, per run size.
import type { Job, Mode, Section } from './job.ts';

export type Size = 'smoke' | 'quick' | 'full';

export interface Params {
  rounds: number;
  block: number;
}

export const PARAMS: Record<Size, Record<Section, Params> & { app: { seconds: number; rounds: number; warmup: number } }> = {
  // Only proves the pipeline end to end; the figures mean nothing.
  smoke: {
    roundtrip: { rounds: 2, block: 30 },
    throughput: { rounds: 2, block: 600 },
    payload: { rounds: 2, block: 5 },
    sync: { rounds: 2, block: 30 },
    app: { seconds: 1, rounds: 1, warmup: 0.5 },
  },
  quick: {
    roundtrip: { rounds: 6, block: 1000 },
    throughput: { rounds: 3, block: 5000 },
    payload: { rounds: 4, block: 60 },
    sync: { rounds: 6, block: 1000 },
    app: { seconds: 2, rounds: 1, warmup: 1 },
  },
  full: {
    roundtrip: { rounds: 15, block: 4000 },
    throughput: { rounds: 10, block: 20000 },
    payload: { rounds: 12, block: 300 },
    sync: { rounds: 15, block: 4000 },
    app: { seconds: 8, rounds: 2, warmup: 2 },
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
        jobs.push({ section, mode, workers, rounds: p.rounds, block: p.block, inFlight: IN_FLIGHT, only: o.only, adapters: o.adapters });
      }
    }
  }
  return jobs;
}
