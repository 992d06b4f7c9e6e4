// Where a thread's time goes: V8 CPU profiles (node --cpu-prof) of a job reduced to self time per
// function and per origin, so a missed target comes with its measured reason.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type CpuProfile = {
  startTime: number;
  nodes: { id: number; callFrame: CallFrame }[];
  samples: number[];
  timeDeltas: number[];
};
type Cost = { fn: string; where: string; origin: string; selfMs: number; share: number };
export type ThreadProfile = {
  thread: 'main' | 'workers';
  busyMs: number;
  byOrigin: Omit<Cost, 'fn' | 'where'>[];
  top: Cost[];
};

function origin({ url, functionName: name }: CallFrame): string {
  const fixed: Record<string, string> = {
    '(garbage collector)': 'GC',
    '(program)': 'V8/native (program)',
    '(idle)': 'idle',
  };
  if (Object.hasOwn(fixed, name)) return fixed[name]!; // not `fixed[name]`: a function may be called toString
  if (url.includes('/smartasync/dist/') || url.includes('/packages/smartasync/')) return 'smartasync';
  if (url.includes('/bench/')) return 'bench harness';
  if (url.startsWith('node:')) return 'Node internals (JS)';
  if (!url) return 'native builtins';
  if (url.includes('/node_modules/'))
    return basename(url.slice(0, url.indexOf('/', url.lastIndexOf('/node_modules/') + 14)));
  return 'other';
}

function reduce(thread: ThreadProfile['thread'], profiles: CpuProfile[], topN: number, measured?: [number, number]) {
  const byFn = new Map<string, Cost>();
  const byOrigin = new Map<string, number>();
  let busy = 0;
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]));
    let t = p.startTime;
    for (const [i, id] of p.samples.entries()) {
      const us = p.timeDeltas[i] ?? 0;
      t += us;
      const cf = nodes.get(id)?.callFrame;
      if (!cf || (measured && (t < measured[0] || t > measured[1]))) continue;
      const o = origin(cf);
      if (o === 'idle') continue;
      busy += us;
      byOrigin.set(o, (byOrigin.get(o) ?? 0) + us);
      const where = cf.url ? `${basename(cf.url)}:${cf.lineNumber + 1}` : '';
      const key = `${cf.functionName}|${where}`;
      const f =
        byFn.get(key) ??
        byFn.set(key, { fn: cf.functionName || '(anonymous)', where, origin: o, selfMs: 0, share: 0 }).get(key)!;
      f.selfMs += us;
    }
  }
  const ms = (us: number) => Math.round(us / 10) / 100;
  const share = (us: number) => (busy ? Math.round((us / busy) * 1000) / 1000 : 0);
  return {
    thread,
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

/** Every profile --cpu-prof wrote into `dir` (CPU.<date>.<time>.<pid>.<threadId>.<seq>.cpuprofile; thread 0 is the main one). */
export function summarise(dir: string, measured?: [number, number], topN = 15): ThreadProfile[] {
  const by = { main: [] as CpuProfile[], workers: [] as CpuProfile[] };
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')))
    by[f.split('.')[4] === '0' ? 'main' : 'workers'].push(JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile);
  return (['main', 'workers'] as const).flatMap((t) => (by[t].length ? [reduce(t, by[t], topN, measured)] : []));
}
