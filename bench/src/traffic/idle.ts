// 6.5 Idle cost and first call: one process per pool (and one with no pool, the floor), one after
// another. Each starts its pool (warm where it can), times the first call and 20 warm ones, makes
// sure every worker is up, then idles: process CPU over the window, split by thread.
import { setTimeout as sleep } from 'node:timers/promises';
import { processCpuUs, runChild, threads } from '../lib/proc.ts';
import { median } from '../lib/stats.ts';
import { pick } from '../micro.ts';
import { TRAFFIC, type Size } from '../plan.ts';
import { calibrate } from '../tasks.ts';
import { POOLS, type StartInfo, type TrafficInstance } from './pools.ts';

/**
 * ms: the first call, the median of 20 after it, one after the idle window; process CPU over the window
 * (ms, and as a share of one core), CPU ms by thread, context switches per second.
 */
type Figures = 'firstCallMs' | 'warmCallMs' | 'afterIdleCallMs' | 'workers' | 'cpuMs' | 'coreShare';
export interface IdleCandidate extends Partial<Record<Figures, number>> {
  id: string;
  lib: string;
  kind: string;
  seconds: number;
  start?: StartInfo;
  threads?: { main: number; workers: number; other: number };
  wakeupsPerS?: { workers: number; main: number };
  error?: string;
}

const timed = async (f: () => Promise<unknown>) => {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
};
const cpuMs = () => processCpuUs() / 1000;

/** In a child process of its own (src/lib/child.ts). */
export async function idle({ id, workers, seconds }: { id: string; workers: number; seconds: number }) {
  const c = POOLS.find((x) => x.id === id);
  const res: IdleCandidate = { id, lib: c?.lib ?? 'node', kind: c?.kind ?? 'floor', seconds };
  let inst: TrafficInstance | undefined;
  if (c) {
    inst = await c.create({ workers });
    res.start = inst.start;
    res.firstCallMs = await timed(() => inst!.light(0));
    // Idle with every worker up: pools that start workers on demand get concurrent calls.
    if ((inst.workers() ?? workers) < workers) {
      const iters = calibrate(5);
      await Promise.all(Array.from({ length: 2 * workers }, (_, i) => inst!.spin(i, iters)));
    }
    const warm: number[] = [];
    for (let i = 0; i < 20; i++) warm.push(await timed(() => inst!.light(i)));
    [res.warmCallMs, res.workers] = [median(warm), inst.workers()];
  }
  await sleep(Math.min(1000, seconds * 1000)); // let start-up work (JIT, GC) finish
  const [t0, c0, w0] = [threads('self'), cpuMs(), performance.now()];
  await sleep(seconds * 1000);
  const [t1, window] = [threads('self'), (performance.now() - w0) / 1000];
  res.cpuMs = cpuMs() - c0;
  res.coreShare = res.cpuMs / (window * 1000);
  if (t0 && t1) {
    const ms = (k: 'main' | 'workers' | 'other') => (t1[k].cpuNs - t0[k].cpuNs) / 1e6;
    const perS = (k: 'main' | 'workers') => (t1[k].switches - t0[k].switches) / window;
    res.threads = { main: ms('main'), workers: ms('workers'), other: ms('other') };
    res.wakeupsPerS = { main: perS('main'), workers: perS('workers') };
  }
  if (inst) {
    res.afterIdleCallMs = await timed(() => inst!.light(1));
    await inst.close();
  }
  return res;
}

export type IdleResult = Awaited<ReturnType<typeof runIdle>>;

export async function runIdle(size: Size, only: string[] | undefined, log: (m: string) => void) {
  const { workers, idle: p } = TRAFFIC[size];
  const ids = [...pick(POOLS, only).map((c) => c.id), 'node'];
  const candidates: IdleCandidate[] = [];
  for (const id of ids) {
    const job = { id, workers, seconds: p.seconds };
    const opts = { timeoutMs: (p.seconds + 60) * 1000, log: (m: string) => log(`    ${id}: ${m}`) };
    const error = (err: unknown) => (err instanceof Error ? err.message : String(err));
    const failed = (err: unknown) => ({ id, lib: '?', kind: 'peer', seconds: p.seconds, error: error(err) });
    candidates.push(await runChild<IdleCandidate>(new URL(import.meta.url), 'idle', job, opts).catch(failed));
  }
  return { seconds: p.seconds, workers, candidates };
}
