// Sections 1–4 (round trip, throughput, payload, the sync direction) and the loop every comparison
// shares: all candidates of a job alive in one process, measured in interleaved blocks (round r
// starts at candidate r mod n), so drift on a shared machine lands on all of them alike.
import { asyncCandidates, syncCandidates } from './candidates.ts';
import type { AsyncInstance, CandidateInfo, SyncInstance } from './candidates.ts';
import { median, quantile, sortedCopy, spread } from './lib/stats.ts';
import { ROWS, type Row } from './tasks.ts';

export type Section = 'roundtrip' | 'throughput' | 'payload' | 'sync';
export type Mode = 'unpinned' | 'pinned';
export interface Job {
  section: Section;
  mode: Mode;
  workers: number;
  /** measured rounds, each one block (`block` calls) per candidate */
  rounds: number;
  block: number;
  /** throughput: calls kept in flight */
  inFlight: number;
  only?: string[];
}
export type BlockOut = { values: Record<string, number>; samples?: Float64Array };

const gc = (globalThis as { gc?: () => void }).gc;
const cpuUs = () => {
  const u = process.threadCpuUsage();
  return u.user + u.system;
};

/**
 * One call at a time (after `gap`, if given): per-call latency, its median and p99, and the calling
 * thread's CPU per call. `call` may return a value (the sync direction: no await) or a promise.
 */
export async function latencyBlock(
  n: number,
  call: (i: number) => unknown,
  check: (r: unknown, i: number) => boolean,
  gap?: () => Promise<unknown>,
): Promise<BlockOut> {
  const samples = new Float64Array(n);
  const cpu0 = cpuUs();
  for (let i = 0; i < n; i++) {
    if (gap) await gap();
    const t0 = performance.now();
    let r = call(i);
    // workerpool's promise is its own class: anything with a then() is awaited.
    if (typeof (r as PromiseLike<unknown> | undefined)?.then === 'function') r = await r;
    samples[i] = (performance.now() - t0) * 1000;
    if (!check(r, i)) throw new Error(`wrong result for call ${i}: ${JSON.stringify(r).slice(-60)}`);
  }
  const cpu = (cpuUs() - cpu0) / n;
  const s = sortedCopy(samples);
  return { values: { median_us: median(s), p99_us: quantile(s, 0.99), cpu_us_per_call: cpu }, samples };
}

/** Closed loop: `inFlight` lanes each issue their next call as soon as their previous one settles. */
export async function throughputBlock(n: number, inFlight: number, call: (a: number) => Promise<{ a: number }>) {
  let [issued, bad] = [0, 0];
  const lane = async () => {
    for (let a = issued++; a < n; a = issued++) if ((await call(a)).a !== a) bad++;
  };
  const [cpu0, t0] = [cpuUs(), performance.now()];
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, lane));
  const secs = (performance.now() - t0) / 1000;
  if (bad) throw new Error(`${bad} wrong results`);
  return { values: { calls_per_s: n / secs, cpu_us_per_call: (cpuUs() - cpu0) / n } };
}

export const echoes = (r: unknown, i: number) => (r as { a: number }).a === i;
// Text results are checked at their end only: parsing them would add the main-thread work that text avoids.
const rowsOk = (r: unknown) =>
  typeof r === 'string'
    ? r.startsWith('[{') && r.endsWith('}]') && r.lastIndexOf(`"id":${ROWS},`) > r.length - 120
    : (r as Row[]).length === ROWS && (r as Row[])[ROWS - 1]?.id === ROWS;

export const errText = (err: unknown) =>
  err instanceof Error ? `${err.name}: ${err.message}`.split('\n')[0]! : String(err);

export type CandidateResult = Awaited<ReturnType<typeof interleave>>[number];

/**
 * Every candidate started, one discarded warm-up block each (round -1: JIT, worker start-up), then
 * `rounds` rounds, gc() between blocks. A candidate that fails is reported as failed, not timed.
 */
export async function interleave<I extends { close(): Promise<void> }>(
  rounds: number,
  candidates: { info: CandidateInfo; create: () => Promise<I> }[],
  block: (inst: I, round: number, id: string) => Promise<BlockOut> | BlockOut,
  log: (msg: string) => void,
  // Brackets the measured rounds, so a CPU profile can leave out start-up and warm-up.
  measured: { start?: bigint; end?: bigint } = {},
) {
  type Slot = {
    info: CandidateInfo;
    inst?: I;
    error?: string;
    perRound: Record<string, number[]>;
    samples: Float64Array[];
  };
  const slots: Slot[] = candidates.map((c) => ({ info: c.info, perRound: {}, samples: [] }));
  const step = async (s: Slot, what: string, f: () => Promise<unknown>) => {
    const t0 = performance.now();
    try {
      await f();
      // Not measured, but one that takes seconds is worth a line.
      if (round < 0 && performance.now() - t0 > 1000)
        log(`  ${s.info.id}: ${what} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (err) {
      s.error = `${round < 0 ? (what === 'start' ? 'could not start' : 'failed in warm-up') : `failed in round ${round}`}: ${errText(err)}`;
      log(`  ${s.info.id}: ${s.error}`);
    }
  };
  let round = -1;
  for (const [k, s] of slots.entries()) await step(s, 'start', async () => (s.inst = await candidates[k]!.create()));
  for (const s of slots) if (s.inst) await step(s, 'warm-up', async () => block(s.inst!, -1, s.info.id));
  measured.start = process.hrtime.bigint();
  for (round = 0; round < rounds; round++) {
    const live = slots.filter((s) => s.inst && !s.error);
    const k = live.length ? round % live.length : 0;
    for (const s of [...live.slice(k), ...live.slice(0, k)]) {
      gc?.();
      await step(s, 'round', async () => {
        const out = await block(s.inst!, round, s.info.id);
        for (const [key, v] of Object.entries(out.values)) (s.perRound[key] ??= []).push(v);
        if (out.samples) s.samples.push(out.samples);
      });
    }
  }
  measured.end = process.hrtime.bigint();
  // A ref'd timer: with an unref'd one, a close that never settles (poolifier's, sometimes) would let
  // the loop run dry. A pool that fails to close does not invalidate what was measured.
  for (const s of slots) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([s.inst?.close(), new Promise((res) => (timer = setTimeout(res, 1000)))]).catch(() => {});
    clearTimeout(timer);
  }
  return slots.map((s) => {
    const metrics = Object.fromEntries(Object.entries(s.perRound).map(([k, v]) => [k, spread(v)]));
    const all = s.samples.length ? sortedCopy(s.samples.flatMap((a) => [...a])) : undefined;
    const q = (p: number) => quantile(all!, p);
    const pooled = all && { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: all[all.length - 1]!, calls: all.length };
    // `pooled` is undefined where there are no samples: JSON leaves it out.
    return { ...s.info, metrics, perRound: s.perRound, ...(s.error ? { error: s.error } : {}), pooled };
  });
}

/** The candidates `--only` names, by id or library (all when it names none). */
export const pick = <T extends { id: string; lib: string }>(xs: T[], only?: string[]) =>
  xs.filter((c) => !only?.length || only.some((o) => c.id === o || c.lib === o));

export type JobResult = Awaited<ReturnType<typeof runJob>>;

/** One job of sections 1–4, in a child process of its own (run by src/lib/child.ts). */
export async function runJob(job: Job, log = (m: string) => void process.stderr.write(m + '\n')) {
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const measured: { start?: bigint; end?: bigint } = {};
  const { section, block: n, rounds, workers } = job;
  // Only the description goes into results.json, not the sections or the constructor.
  const info = ({ id, lib, kind, config, note }: CandidateInfo): CandidateInfo => ({ id, lib, kind, config, note });
  const syncs = pick(syncCandidates, job.only).map((c) => ({ info: info(c), create: () => c.create() }));
  const asyncs = pick(asyncCandidates, job.only).filter((c) => section !== 'sync' && c.sections.includes(section));
  const starts = asyncs.map((c) => ({ info: info(c), create: () => c.create({ workers }) }));
  const blocks = {
    roundtrip: (inst: AsyncInstance) => latencyBlock(n, (i) => inst.noop({ a: i }), echoes),
    throughput: (inst: AsyncInstance) => throughputBlock(n, job.inFlight, (a) => inst.noop({ a })),
    payload: (inst: AsyncInstance) => latencyBlock(n, () => inst.rows!(ROWS), rowsOk),
    sync: (inst: SyncInstance) => latencyBlock(n, (i) => inst.ping({ a: i }), echoes),
  };
  const candidates =
    section === 'sync'
      ? await interleave(rounds, syncs, blocks.sync, log, measured)
      : await interleave(rounds, starts, blocks[section], log, measured);
  const us = (t?: bigint) => (t === undefined ? 0 : Number(t / 1000n));
  const wallSeconds = (performance.now() - t0) / 1000;
  return { job, startedAt, wallSeconds, measuredUs: [us(measured.start), us(measured.end)], candidates };
}
