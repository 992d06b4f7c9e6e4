// The work every traffic candidate runs on its worker: the same function bodies for smartasync,
// piscina and the hand-written worker. Each call stamps when it started and how long it ran on
// the worker's clock, so the runner can split a call's latency into waiting to start, running,
// and waiting for the reply to be delivered (where a missed wake-up shows).

/** What a traffic call returns. */
export interface Stamp {
  /** the argument, echoed so that a wrong or crossed reply is caught */
  a: number;
  /** wall-clock ms (performance.timeOrigin + performance.now()) when the worker started the call */
  t: number;
  /** ms the body ran on the worker */
  r: number;
  /** the loop's result, returned so that the loop cannot be optimised away */
  h?: number;
}

/** Wall-clock ms with sub-µs resolution, comparable across threads of one process. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A trivial call: the light request of a server. */
export function light(x: { a: number }): Stamp {
  const t = wallMs();
  return { a: x.a, t, r: wallMs() - t };
}

/**
 * A fixed amount of synchronous CPU work (`iters` rounds of integer hashing), not a wall-clock
 * wait: when threads share a core the call takes longer, as real work would.
 */
export function spin(x: { a: number; iters: number }): Stamp {
  const t = wallMs();
  let h = x.a | 0;
  for (let i = 0; i < x.iters; i++) h = (Math.imul(h ^ i, 0x9e3779b1) + 1) | 0;
  return { a: x.a, t, r: wallMs() - t, h };
}

/** Iterations of `spin` that take about `ms` on this thread, measured here (best of a few runs). */
export function calibrate(ms: number): number {
  const probe = 2_000_000;
  let best = Number.POSITIVE_INFINITY;
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    spin({ a: k, iters: probe });
    best = Math.min(best, performance.now() - t0);
  }
  return Math.max(1, Math.round((probe * ms) / best));
}
