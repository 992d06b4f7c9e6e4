// Where the main thread's time goes: a V8 CPU profile (node --cpu-prof) of a job, reduced to
// self time per function and per origin, so a missed target comes with its measured reason.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  startTime: number;
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionCost {
  fn: string;
  where: string;
  origin: string;
  selfMs: number;
  /** share of the thread's busy (non-idle) time */
  share: number;
}

export interface ThreadProfile {
  thread: 'main' | 'workers';
  busyMs: number;
  byOrigin: { origin: string; selfMs: number; share: number }[];
  top: FunctionCost[];
}

function origin(cf: CallFrame): string {
  const { url, functionName: name } = cf;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)') return 'V8/native (program)';
  if (name === '(idle)') return 'idle';
  if (url.includes('/smartasync/dist/') || url.includes('/packages/smartasync/')) return 'smartasync';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.startsWith('node:')) return 'Node internals (JS)';
  if (!url) return 'native builtins';
  if (url.includes('/node_modules/'))
    return basename(url.slice(0, url.indexOf('/', url.lastIndexOf('/node_modules/') + 14)));
  return 'other';
}

function reduce(profiles: CpuProfile[], topN: number, measured?: [number, number]): Omit<ThreadProfile, 'thread'> {
  const byFn = new Map<string, FunctionCost>();
  const byOrigin = new Map<string, number>();
  let busy = 0;
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    let t = p.startTime;
    for (let i = 0; i < p.samples.length; i++) {
      const us = p.timeDeltas[i] ?? 0;
      t += us;
      if (measured && (t < measured[0] || t > measured[1])) continue;
      const node = nodes.get(p.samples[i]!);
      if (!node) continue;
      const o = origin(node.callFrame);
      if (o === 'idle') continue;
      busy += us;
      byOrigin.set(o, (byOrigin.get(o) ?? 0) + us);
      const cf = node.callFrame;
      const where = cf.url ? `${basename(cf.url)}:${cf.lineNumber + 1}` : '';
      const key = `${cf.functionName}|${where}`;
      const f = byFn.get(key) ?? { fn: cf.functionName || '(anonymous)', where, origin: o, selfMs: 0, share: 0 };
      f.selfMs += us;
      byFn.set(key, f);
    }
  }
  const ms = (us: number) => Math.round(us / 10) / 100;
  const share = (us: number) => (busy ? Math.round((us / busy) * 1000) / 1000 : 0);
  return {
    busyMs: ms(busy),
    byOrigin: [...byOrigin]
      .sort((a, b) => b[1] - a[1])
      .map(([o, us]) => ({ origin: o, selfMs: ms(us), share: share(us) })),
    top: [...byFn.values()]
      .sort((a, b) => b.selfMs - a.selfMs)
      .slice(0, topN)
      .map((f) => ({ ...f, selfMs: ms(f.selfMs), share: share(f.selfMs) })),
  };
}

/** Reads every profile node --cpu-prof wrote into `dir`; file names carry the thread id. */
export function summarise(dir: string, measured?: [number, number], topN = 15): ThreadProfile[] {
  const main: CpuProfile[] = [];
  const workers: CpuProfile[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.cpuprofile')) continue;
    // CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile; thread 0 is the main thread.
    const tid = f.split('.')[4];
    const prof = JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile;
    (tid === '0' ? main : workers).push(prof);
  }
  const out: ThreadProfile[] = [];
  if (main.length) out.push({ thread: 'main', ...reduce(main, topN, measured) });
  if (workers.length) out.push({ thread: 'workers', ...reduce(workers, topN, measured) });
  return out;
}
