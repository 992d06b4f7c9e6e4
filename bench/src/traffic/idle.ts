// Idle cost and first call, one candidate per process: `idle.ts <candidate id | node> <workers> <seconds>`.
// The process starts its pool (warm where the candidate can), times the first call and a few
// warm ones, makes sure every worker is up, then prints READY and waits for GO on stdin, so the
// runner can start the candidates one after another (their first calls unperturbed) and then
// let them settle and measure their idle windows all at once. The result is one JSON line on stdout.
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { HELPER_THREAD } from '../threads.ts';
import { TRAFFIC_CANDIDATES, type TrafficInstance } from './candidates.ts';
import type { IdleCandidate } from './types.ts';
import { calibrate } from './work.ts';

/** Baseline: a Node process with no pool at all, as idle as Node gets. */
export const NODE_BASELINE = 'node';

interface ThreadSample {
  tid: string;
  comm: string;
  /** ns on CPU (schedstat) */
  cpuNs: number;
  switches: number;
}

function threads(): ThreadSample[] | undefined {
  try {
    return readdirSync('/proc/self/task').map((tid) => {
      const base = `/proc/self/task/${tid}`;
      const status = readFileSync(`${base}/status`, 'utf8');
      const num = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
      return {
        tid,
        comm: readFileSync(`${base}/comm`, 'utf8').trim(),
        cpuNs: Number(readFileSync(`${base}/schedstat`, 'utf8').split(' ')[0]),
        switches: num('voluntary_ctxt_switches') + num('nonvoluntary_ctxt_switches'),
      };
    });
  } catch {
    return undefined; // not Linux
  }
}

function split(
  a: ThreadSample[] | undefined,
  b: ThreadSample[] | undefined,
  seconds: number,
): Pick<IdleCandidate, 'threads' | 'wakeupsPerS'> {
  if (!a || !b) return {};
  const before = new Map(a.map((t) => [t.tid, t]));
  const cpu = { main: 0, workers: 0, other: 0 };
  const wake = { main: 0, workers: 0 };
  for (const t of b) {
    const t0 = before.get(t.tid) ?? { cpuNs: 0, switches: 0 };
    const ms = (t.cpuNs - t0.cpuNs) / 1e6;
    const sw = t.switches - t0.switches;
    if (t.tid === String(process.pid)) {
      cpu.main += ms;
      wake.main += sw;
    } else if (HELPER_THREAD.test(t.comm)) cpu.other += ms;
    else {
      cpu.workers += ms;
      wake.workers += sw;
    }
  }
  return { threads: cpu, wakeupsPerS: { main: wake.main / seconds, workers: wake.workers / seconds } };
}

async function timed<T>(f: () => Promise<T>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function idle(
  id: string,
  workers: number,
  seconds: number,
  ready: () => Promise<void>,
): Promise<IdleCandidate> {
  const c = TRAFFIC_CANDIDATES.find((x) => x.id === id);
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
    warm.sort((a, b) => a - b);
    res.warmCallMs = warm[9];
    res.workers = inst.workers();
  }
  await ready();
  // Let start-up work (JIT, GC) finish before the window.
  await sleep(Math.min(1000, seconds * 1000));
  const t0 = threads();
  const c0 = cpuMs();
  const w0 = performance.now();
  await sleep(seconds * 1000);
  const window = (performance.now() - w0) / 1000;
  res.cpuMs = cpuMs() - c0;
  Object.assign(res, split(t0, threads(), window));
  res.coreShare = res.cpuMs / (window * 1000);
  if (inst) {
    res.afterIdleCallMs = await timed(() => inst!.light(1));
    await inst.close();
  }
  return res;
}

if (import.meta.main) {
  const [id, workers, seconds] = process.argv.slice(2);
  const lines = createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.on('line', (l) => l.trim() === 'GO' && resolve()));
  let out: IdleCandidate;
  try {
    out = await idle(id!, Number(workers), Number(seconds), async () => {
      process.stdout.write('READY\n');
      await go;
    });
  } catch (err) {
    out = {
      id: id!,
      lib: '?',
      kind: 'peer',
      seconds: Number(seconds),
      error: err instanceof Error ? err.message : String(err),
    };
    process.stdout.write('READY\n');
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}
