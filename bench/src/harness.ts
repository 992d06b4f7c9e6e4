// Measurement loops. Every candidate of a job is alive at once and measured in interleaved
// blocks (round r starts at candidate r mod n), so slow drift on a shared 2-core machine
// lands on all of them alike instead of on whichever ran last.
import { performance } from 'node:perf_hooks';
import { ROWS, type Row } from './tasks.ts';
import { quantile, sortedCopy, spread } from './stats.ts';
import type { CandidateResult, Job } from './job.ts';
import type { AsyncInstance, CandidateInfo, SyncInstance } from './types.ts';

const gc = (globalThis as { gc?: () => void }).gc;

function cpuMicros(): number {
  const u = process.threadCpuUsage();
  return u.user + u.system;
}

// Text results are checked at their end only: parsing them here would add the very main-thread
// work that handing over text avoids.
function rowsOk(r: Row[] | string): boolean {
  if (typeof r === 'string')
    return r.startsWith('[{') && r.endsWith('}]') && r.lastIndexOf(`"id":${ROWS},`) > r.length - 120;
  return r.length === ROWS && r[ROWS - 1]?.id === ROWS;
}

export interface BlockOut {
  values: Record<string, number>;
  samples?: Float64Array;
}

export async function latencyBlock(inst: AsyncInstance, n: number, payload: boolean): Promise<BlockOut> {
  const samples = new Float64Array(n);
  const cpu0 = cpuMicros();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    if (payload) {
      const r = await inst.rows!(ROWS);
      samples[i] = (performance.now() - t0) * 1000;
      if (!rowsOk(r)) throw new Error(`wrong rows result (${typeof r === 'string' ? r.slice(-40) : r.length})`);
    } else {
      const r = await inst.noop({ a: i });
      samples[i] = (performance.now() - t0) * 1000;
      if (r.a !== i) throw new Error(`wrong result: ${JSON.stringify(r)} for a=${i}`);
    }
  }
  const cpu = (cpuMicros() - cpu0) / n;
  const s = sortedCopy(samples);
  return { values: { median_us: quantile(s, 0.5), p99_us: quantile(s, 0.99), cpu_us_per_call: cpu }, samples };
}

export function syncBlock(inst: SyncInstance, n: number): BlockOut {
  const samples = new Float64Array(n);
  // CPU of the blocked caller: what it spends itself, apart from the time it sleeps waiting.
  const cpu0 = cpuMicros();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const r = inst.ping({ a: i });
    samples[i] = (performance.now() - t0) * 1000;
    if (r.a !== i) throw new Error(`wrong result: ${JSON.stringify(r)} for a=${i}`);
  }
  const cpu = (cpuMicros() - cpu0) / n;
  const s = sortedCopy(samples);
  return { values: { median_us: quantile(s, 0.5), p99_us: quantile(s, 0.99), cpu_us_per_call: cpu }, samples };
}

// Closed loop: `inFlight` lanes each issue their next call as soon as their previous one
// settles, so exactly `inFlight` calls are outstanding until the tail.
export async function throughputBlock(inst: AsyncInstance, n: number, inFlight: number): Promise<BlockOut> {
  let issued = 0;
  let bad = 0;
  async function lane(): Promise<void> {
    while (issued < n) {
      const a = issued++;
      const r = await inst.noop({ a });
      if (r.a !== a) bad++;
    }
  }
  const cpu0 = cpuMicros();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
  const secs = (performance.now() - t0) / 1000;
  const cpu = (cpuMicros() - cpu0) / n;
  if (bad) throw new Error(`${bad} wrong results`);
  return { values: { calls_per_s: n / secs, cpu_us_per_call: cpu } };
}

interface Slot<I> {
  info: CandidateInfo;
  inst?: I;
  error?: string;
  perRound: Record<string, number[]>;
  samples: Float64Array[];
}

export function errText(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`.split('\n')[0] as string;
  return String(err);
}

export async function interleave<I extends { close(): Promise<void> }>(
  job: Pick<Job, 'rounds'>,
  candidates: { info: CandidateInfo; create: () => Promise<I> }[],
  // `round` is -1 for the discarded warm-up block.
  block: (inst: I, round: number) => Promise<BlockOut> | BlockOut,
  log: (msg: string) => void,
  // Brackets the measured rounds, so a CPU profile can leave out start-up and warm-up.
  measured?: { start?: bigint; end?: bigint },
): Promise<CandidateResult[]> {
  const slots: Slot<I>[] = [];
  // Start-up and shutdown are not measured, but one that takes seconds is worth a line.
  const slow = (id: string, what: string, t0: number) => {
    const ms = performance.now() - t0;
    if (ms > 1000) log(`  ${id}: ${what} took ${(ms / 1000).toFixed(1)} s`);
  };
  for (const c of candidates) {
    const slot: Slot<I> = { info: c.info, perRound: {}, samples: [] };
    const t0 = performance.now();
    try {
      slot.inst = await c.create();
      slow(c.info.id, 'start', t0);
    } catch (err) {
      slot.error = `could not start: ${errText(err)}`;
      log(`  ${c.info.id}: ${slot.error}`);
    }
    slots.push(slot);
  }

  // Warm-up round, discarded: JIT, worker start-up, lazily created threads.
  for (const s of slots) {
    if (!s.inst) continue;
    const t0 = performance.now();
    try {
      await block(s.inst, -1);
      slow(s.info.id, 'warm-up', t0);
    } catch (err) {
      s.error = `failed in warm-up: ${errText(err)}`;
      log(`  ${s.info.id}: ${s.error}`);
    }
  }

  const live = () => slots.filter((s) => s.inst && !s.error);
  if (measured) measured.start = process.hrtime.bigint();
  for (let r = 0; r < job.rounds; r++) {
    const order = live();
    const k = order.length ? r % order.length : 0;
    for (const s of [...order.slice(k), ...order.slice(0, k)]) {
      gc?.();
      try {
        const out = await block(s.inst!, r);
        for (const [key, v] of Object.entries(out.values)) (s.perRound[key] ??= []).push(v);
        if (out.samples) s.samples.push(out.samples);
      } catch (err) {
        s.error = `failed in round ${r}: ${errText(err)}`;
        log(`  ${s.info.id}: ${s.error}`);
      }
    }
  }

  if (measured) measured.end = process.hrtime.bigint();

  for (const s of slots) {
    if (!s.inst) continue;
    try {
      // A ref'd timer: with an unref'd one, a close promise that never settles (poolifier's
      // does, sometimes) lets the loop run dry and the child die with an unsettled await.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([s.inst.close(), new Promise((res) => (timer = setTimeout(res, 1000)))]);
      clearTimeout(timer);
    } catch {
      // A pool that fails to close does not invalidate what was measured; the child exits
      // with process.exit anyway, so a slow close (poolifier's tasks queue) is cut short.
    }
  }

  return slots.map((s) => {
    const res: CandidateResult = { ...s.info, metrics: {}, perRound: s.perRound };
    if (s.error) res.error = s.error;
    for (const [key, vals] of Object.entries(s.perRound)) res.metrics[key] = spread(vals);
    if (s.samples.length) {
      const all = new Float64Array(s.samples.reduce((n, a) => n + a.length, 0));
      let o = 0;
      for (const a of s.samples) {
        all.set(a, o);
        o += a.length;
      }
      all.sort();
      res.pooled = {
        p50: quantile(all, 0.5),
        p90: quantile(all, 0.9),
        p99: quantile(all, 0.99),
        max: all[all.length - 1] as number,
        calls: all.length,
      };
    }
    return res;
  });
}
