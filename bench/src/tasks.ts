// The work every candidate runs on its worker, in one module so that each peer's worker file and
// smartasync's task module execute byte-for-byte the same function bodies.

export type Small = { ok: true; a: number };
export type Row = { id: number; name: string; email: string };
export const ROWS = 1000;

export function noop(x: { a: number }): Small {
  return { ok: true, a: x.a };
}

// Rows are built fresh on each call, like a driver materialising a query result: a cached array
// would let a transport that shares memory look better than it would in real use.
export function rows(n: number): Row[] {
  const out = new Array<Row>(n);
  for (let i = 0; i < n; i++) out[i] = { id: i + 1, name: `User ${i + 1}`, email: `user${i + 1}@example.com` };
  return out;
}

/**
 * What a traffic call returns: the argument echoed (a crossed reply is caught), when the body started
 * on the worker (wall-clock ms, performance.timeOrigin + performance.now(), which agrees across the
 * threads of a process) and how long it ran, so a call's latency splits into waiting to start,
 * running and reply delivery. `h`: spin's result, returned so that its loop cannot be optimised away.
 */
export type Stamp = { a: number; t: number; r: number; h?: number };

export const wallMs = (): number => performance.timeOrigin + performance.now();

/** A trivial call: the light request of a server. */
export function light(x: { a: number }): Stamp {
  const t = wallMs();
  return { a: x.a, t, r: wallMs() - t };
}

/** Fixed synchronous CPU work (integer hashing), not a wall-clock wait: on a shared core it takes longer, as real work would. */
export function spin(x: { a: number; iters: number }): Stamp {
  const t = wallMs();
  let h = x.a | 0;
  for (let i = 0; i < x.iters; i++) h = (Math.imul(h ^ i, 0x9e3779b1) + 1) | 0;
  return { a: x.a, t, r: wallMs() - t, h };
}

/** Iterations of `spin` that take about `ms` on this thread (best of 5 probes). */
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
