// How long each comparison measures, per run size. Odd round counts, so a median over rounds is one real round.
export type Size = 'smoke' | 'quick' | 'full';
export const PARAMS = {
  // Only proves the pipeline end to end; the figures mean nothing.
  smoke: {
    roundtrip: { rounds: 2, block: 30 },
    throughput: { rounds: 2, block: 600 },
    payload: { rounds: 2, block: 5 },
    sync: { rounds: 2, block: 30 },
    app: { seconds: 1, rounds: 1, warmup: 1 },
  },
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
} satisfies Record<Size, object>;
export const IN_FLIGHT = 256;

/** Section 6 (server traffic); kept in results.json as `traffic.params`. */
export type TrafficParams = (typeof TRAFFIC)[Size];
export const TRAFFIC = {
  smoke: {
    /** pool size of every candidate (a server's default pool on this 2-core machine) */
    workers: 2,
    spaced: { rounds: 1, calls: 5 },
    /** rates are fractions of the lowest closed-loop throughput; calls of `workMs` CPU */
    openloop: { rounds: 1, saturationSeconds: 0.2, fractions: [0.1, 0.5], seconds: 0.2, workMs: 0.05 },
    mixed: { rounds: 1, seconds: 0.15, longMs: 10, longCallers: 2, lightEveryMs: 1 },
    idle: { seconds: 0.3 },
    /** open-loop `rates` in req/s; `starts`: fresh server starts per build for the first request */
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
    app: { rounds: 3, seconds: 3, rates: [500, 2000, 8000], openSeconds: 2, starts: 3 },
  },
};
