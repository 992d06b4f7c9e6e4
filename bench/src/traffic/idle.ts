// 6.5 Idle cost and first call, one process per pool (and one with no pool, the floor): each starts its
// pool (warm where it can), times the first call and 20 warm ones, makes sure every worker is up, says
// READY and waits for GO, so the runner can start them one after another (their first calls on a quiet
// machine) and then measure their idle windows all at once. `idle.ts <pool id | node> <workers> <seconds>`.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { threads } from '../lib/proc.ts';
import { TRAFFIC, type Size } from '../plan.ts';
import { calibrate } from '../tasks.ts';
import { POOLS, type StartInfo, type TrafficInstance } from './pools.ts';

export interface IdleCandidate {
  id: string;
  lib: string;
  kind: string;
  seconds: number;
  start?: StartInfo;
  /** the first call, the median of 20 after it, one after the idle window (ms) */
  firstCallMs?: number;
  warmCallMs?: number;
  afterIdleCallMs?: number;
  workers?: number;
  /** process CPU over the window (ms, and as a share of one core), CPU ms by thread, context switches per second */
  cpuMs?: number;
  coreShare?: number;
  threads?: { main: number; workers: number; other: number };
  wakeupsPerS?: { workers: number; main: number };
  error?: string;
}

const timed = async (f: () => Promise<unknown>) => {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
};
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function idle(id: string, workers: number, seconds: number, ready: () => Promise<void>): Promise<IdleCandidate> {
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
    res.warmCallMs = warm.sort((a, b) => a - b)[9];
    res.workers = inst.workers();
  }
  await ready();
  await sleep(Math.min(1000, seconds * 1000)); // let start-up work (JIT, GC) finish
  const [t0, c0, w0] = [threads('self'), cpuMs(), performance.now()];
  await sleep(seconds * 1000);
  const t1 = threads('self');
  const window = (performance.now() - w0) / 1000;
  res.cpuMs = cpuMs() - c0;
  if (t0 && t1) {
    const ms = (k: 'main' | 'workers' | 'other') => (t1[k].cpuNs - t0[k].cpuNs) / 1e6;
    const perS = (k: 'main' | 'workers') => (t1[k].switches - t0[k].switches) / window;
    res.threads = { main: ms('main'), workers: ms('workers'), other: ms('other') };
    res.wakeupsPerS = { main: perS('main'), workers: perS('workers') };
  }
  res.coreShare = res.cpuMs / (window * 1000);
  if (inst) {
    res.afterIdleCallMs = await timed(() => inst!.light(1));
    await inst.close();
  }
  return res;
}

if (import.meta.main) {
  const [id, workers, seconds] = process.argv.slice(2) as [string, string, string];
  const go = new Promise<void>((resolve) =>
    createInterface({ input: process.stdin }).on('line', (l) => l.trim() === 'GO' && resolve()),
  );
  let out: IdleCandidate;
  try {
    out = await idle(
      id,
      Number(workers),
      Number(seconds),
      async () => void (process.stdout.write('READY\n'), await go),
    );
  } catch (err) {
    out = {
      id,
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

function start(id: string, workers: number, seconds: number, log: (m: string) => void) {
  const entry = fileURLToPath(import.meta.url);
  const proc = spawn(process.execPath, [entry, id, String(workers), String(seconds)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  proc.stderr.on('data', (d: Buffer) => log(`    ${id}: ${d.toString().trim()}`));
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  const result = new Promise<IdleCandidate>((resolve, reject) => {
    const timer = setTimeout(
      () => (proc.kill('SIGKILL'), reject(new Error(`idle ${id} did not finish in ${seconds + 60} s`))),
      (seconds + 60) * 1000,
    );
    createInterface({ input: proc.stdout }).on('line', (l) => {
      if (l === 'READY') return readyResolve();
      if (!l.startsWith('{')) return;
      clearTimeout(timer);
      resolve(JSON.parse(l) as IdleCandidate);
    });
    // 'close', not 'exit': the last line (the result) may still be in the pipe at exit.
    proc.on('close', (code) => {
      clearTimeout(timer);
      readyResolve();
      reject(new Error(`idle ${id} exited with ${code} without a result`));
    });
  });
  return { ready, go: () => proc.stdin.write('GO\n'), result };
}

export type IdleResult = Awaited<ReturnType<typeof runIdle>>;

/** Started one after another, so that each first call runs on a quiet machine; idle processes do not take each other's CPU. */
export async function runIdle(size: Size, only: string[] | undefined, log: (m: string) => void) {
  const p = TRAFFIC[size];
  const ids = [
    ...POOLS.filter((c) => !only?.length || only.some((o) => c.id === o || c.lib === o)).map((c) => c.id),
    'node',
  ];
  const procs: ReturnType<typeof start>[] = [];
  for (const id of ids) {
    procs.push(start(id, p.workers, p.idle.seconds, log));
    await procs.at(-1)!.ready;
  }
  for (const pr of procs) pr.go();
  const settled = await Promise.allSettled(procs.map((pr) => pr.result));
  const candidates = settled.map((s, i): IdleCandidate =>
    s.status === 'fulfilled'
      ? s.value
      : {
          id: ids[i]!,
          lib: '?',
          kind: 'peer',
          seconds: p.idle.seconds,
          error: s.reason instanceof Error ? s.reason.message : String(s.reason),
        },
  );
  return { seconds: p.idle.seconds, workers: p.workers, candidates };
}
