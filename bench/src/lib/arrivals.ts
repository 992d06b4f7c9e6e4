// Sending on a schedule fixed in advance, whatever the replies do (an open loop).

/** A small seeded PRNG (mulberry32): every candidate gets the same arrival times. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Gaps of Poisson arrivals at `rate` per second, ms. */
export const poisson = (rate: number, random: () => number) => () => (-Math.log(1 - random()) * 1000) / rate;

/**
 * Each call has an intended send time; a timer wakes the sender, which sends every call that is due.
 * Latency is then measured from the intended time, so a sender held up by a busy event loop does not
 * hide the queueing it caused (coordinated omission, as wrk2 avoids it). Resolves with the number of
 * calls sent once the schedule is over, and `settled` once every call sent has settled (rejecting with
 * the first failure).
 */
export async function pace(
  nextGapMs: () => number,
  durationMs: number,
  send: (i: number, intended: number) => Promise<unknown> | void,
): Promise<number> {
  const calls: Promise<unknown>[] = [];
  const n = await new Promise<number>((resolve) => {
    const start = performance.now() + 1;
    const end = start + durationMs;
    let next = start;
    let i = 0;
    const tick = () => {
      for (const now = performance.now(); next <= now && next < end; next += nextGapMs()) {
        const p = send(i++, next);
        if (p) calls.push(p);
      }
      if (next >= end) resolve(i);
      else setTimeout(tick, Math.max(0, next - performance.now()));
    };
    setTimeout(tick, 1);
  });
  await Promise.all(calls);
  return n;
}
