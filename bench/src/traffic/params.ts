// How long each traffic scenario measures, per run size.
import type { Size } from '../plan.ts';

export interface TrafficParams {
  /** pool size of every candidate (a server's default pool on this 2-core machine) */
  workers: number;
  spaced: { rounds: number; calls: number };
  openloop: {
    rounds: number;
    /** closed-loop block for the saturation throughput, s */
    saturationSeconds: number;
    /** offered rates as fractions of the lowest saturation throughput among the candidates */
    fractions: number[];
    /** seconds per rate per round */
    seconds: number;
    /** synchronous work per call, ms (a small query) */
    workMs: number;
  };
  mixed: { rounds: number; seconds: number; longMs: number; longCallers: number; lightEveryMs: number };
  idle: { seconds: number };
  app: {
    rounds: number;
    seconds: number;
    /** open-loop rates on GET /users/:id, requests/s */
    rates: number[];
    openSeconds: number;
    /** fresh server starts per build for the first request */
    starts: number;
  };
}

export const TRAFFIC: Record<Size, TrafficParams> = {
  // Proves the pipeline end to end in a few seconds; the figures mean nothing.
  smoke: {
    workers: 2,
    spaced: { rounds: 1, calls: 5 },
    openloop: { rounds: 1, saturationSeconds: 0.2, fractions: [0.1, 0.5], seconds: 0.2, workMs: 0.05 },
    mixed: { rounds: 1, seconds: 0.15, longMs: 10, longCallers: 2, lightEveryMs: 1 },
    idle: { seconds: 0.3 },
    app: { rounds: 1, seconds: 0.3, rates: [200], openSeconds: 0.3, starts: 1 },
  },
  quick: {
    workers: 2,
    spaced: { rounds: 3, calls: 40 },
    openloop: { rounds: 1, saturationSeconds: 0.5, fractions: [0.01, 0.1, 0.4, 0.7, 0.9], seconds: 1, workMs: 0.05 },
    mixed: { rounds: 1, seconds: 1.5, longMs: 40, longCallers: 2, lightEveryMs: 1 },
    idle: { seconds: 10 },
    app: { rounds: 1, seconds: 2, rates: [500, 2000, 8000], openSeconds: 1.5, starts: 1 },
  },
  full: {
    workers: 2,
    spaced: { rounds: 5, calls: 60 },
    openloop: { rounds: 3, saturationSeconds: 1, fractions: [0.01, 0.1, 0.4, 0.7, 0.9], seconds: 1.2, workMs: 0.05 },
    mixed: { rounds: 3, seconds: 2, longMs: 40, longCallers: 2, lightEveryMs: 1 },
    idle: { seconds: 10 },
    app: { rounds: 2, seconds: 3, rates: [500, 2000, 8000], openSeconds: 2, starts: 3 },
  },
};
