// The three pools of section 6: smartasync, piscina with its defaults and a hand-written
// worker_threads pool, each running the same bodies (src/tasks.ts: light, spin) on the same threads;
// the soak runs the first two. Then what the parts share: rounds, calls on a schedule, closed loops.
import { Piscina } from 'piscina';
import { poolOptions, rawPool, smartasync, type CandidateInfo } from '../candidates.ts';
import { pace } from '../lib/arrivals.ts';
import type { Recorder } from '../lib/stats.ts';
import { interleave, pick, type BlockOut, type CandidateResult } from '../micro.ts';
import type { Stamp } from '../tasks.ts';

/** How a pool's workers were started before its first call, how long that took, and the threads then up. */
export type StartInfo = { method: 'warm()' | 'constructor' | 'online'; ms: number; workers?: number };

export interface TrafficInstance {
  light(a: number): Promise<Stamp>;
  spin(a: number, iters: number): Promise<Stamp>;
  /** the soak's call (src/soak/work.ts): odd `i` throws */
  lookup(i: number): Promise<unknown>;
  /** worker threads alive now, where the pool tells */
  workers(): number | undefined;
  close(): Promise<void>;
  start: StartInfo;
}
type Task = 'light' | 'spin' | 'lookup';
type TrafficCandidate = Omit<CandidateInfo, 'config'> & { create(o: { workers: number }): Promise<TrafficInstance> };

/** The calls of a pool that runs task `name` on `arg`. */
const tasks = (run: (name: Task, arg: unknown) => Promise<unknown>) => ({
  light: (a: number) => run('light', { a }) as Promise<Stamp>,
  spin: (a: number, iters: number) => run('spin', { a, iters }) as Promise<Stamp>,
  lookup: (i: number) => run('lookup', i),
});

export const POOLS: TrafficCandidate[] = [
  {
    id: 'smartasync',
    lib: 'smartasync',
    kind: 'subject',
    note: 'smartasync(fn) of a sync function, awaited; configure({ size }), then getPool().warm() (which also starts the express worker)',
    async create({ workers }) {
      const t0 = performance.now();
      const { lib, tasks: fns } = await smartasync(workers);
      await lib.getPool().warm();
      const count = () => lib.getPool().stats().workers;
      return {
        ...tasks((name, arg) => (fns[name] as (x: unknown) => Promise<unknown>)(arg)),
        workers: count,
        close: () => lib.getPool().close(),
        start: { method: 'warm()', ms: performance.now() - t0, workers: count() },
      };
    },
  },
  {
    id: 'piscina:default',
    lib: 'piscina',
    kind: 'peer',
    note: 'piscina defaults, minThreads = maxThreads = pool size, idleTimeout off',
    async create({ workers }) {
      const t0 = performance.now();
      const pool = new Piscina(poolOptions(workers));
      return {
        ...tasks((name, arg) => pool.run(arg, { name })),
        workers: () => pool.threads.length,
        close: () => pool.destroy(),
        start: { method: 'constructor', ms: performance.now() - t0, workers: pool.threads.length },
      };
    },
  },
  {
    // What a user writes without a library: each call to the worker with the fewest calls outstanding.
    id: 'raw:postMessage',
    lib: 'raw',
    kind: 'baseline',
    note: 'hand-written: worker.postMessage([id, op, arg]) each way, to the worker with the fewest calls outstanding',
    async create({ workers }) {
      const t0 = performance.now();
      const pool = await rawPool(workers, (outstanding) => outstanding.indexOf(Math.min(...outstanding)));
      const ops = { light: 3, spin: 4, lookup: 5 }; // src/workers/raw-worker.ts
      return {
        ...tasks((name, arg) => pool.call(ops[name], arg)),
        workers: () => workers,
        close: pool.close,
        start: { method: 'online', ms: performance.now() - t0, workers },
      };
    },
  },
];

/**
 * The chosen pools through `interleave` (src/micro.ts): `block` per round, given the pool's `fresh()`
 * recorders for the whole run (none in the warm-up); each result as results.json keeps it, with `extra`.
 */
export async function interleavePools<P, X extends object>(
  o: { only?: string[]; workers: number; rounds: number },
  fresh: () => P,
  block: (inst: TrafficInstance, round: number, pooled: P | undefined, id: string) => Promise<BlockOut>,
  extra: (r: CandidateResult, pooled: P | undefined) => X,
) {
  const [starts, pooled] = [new Map<string, StartInfo>(), new Map<string, P>()];
  const cs = pick(POOLS, o.only).map(({ create, ...c }) => ({
    info: { ...c, config: c.kind === 'baseline' ? ('-' as const) : ('default' as const) },
    create: async () => {
      const inst = await create({ workers: o.workers });
      starts.set(c.id, inst.start);
      return inst;
    },
  }));
  const mine = (id: string) => pooled.get(id) ?? pooled.set(id, fresh()).get(id)!;
  const results = await interleave<TrafficInstance>(
    o.rounds,
    cs,
    (inst, round, id) => block(inst, round, round < 0 ? undefined : mine(id), id),
    (m) => void process.stderr.write(m + '\n'),
  );
  return results.map((r) => ({
    ...{ id: r.id, lib: r.lib, kind: r.kind, note: r.note },
    ...(starts.has(r.id) && { start: starts.get(r.id)! }),
    ...(r.error && { error: r.error }),
    ...extra(r, pooled.get(r.id)),
  }));
}

export function check(r: Stamp, a: number): void {
  if (r.a !== a) throw new Error(`wrong result: ${JSON.stringify(r)} for a=${a}`);
}

/**
 * `call`s on the schedule `gaps()` for `seconds` (src/lib/arrivals.ts), each recorded by every recorder
 * given, latency from its intended send time; calls/s done.
 */
export async function paced(
  gaps: () => number,
  seconds: number,
  call: (i: number) => Promise<Stamp>,
  recs: (Recorder | undefined)[],
) {
  const t0 = performance.now();
  const n = await pace(gaps, seconds * 1000, async (i, intended) => {
    const sent = performance.now();
    const r = await call(i);
    const settled = performance.now();
    check(r, i);
    for (const rec of recs) rec?.call(intended, sent, settled, r);
  });
  return { achieved: n / ((performance.now() - t0) / 1000) };
}

/**
 * `callers` closed-loop callers of spin(iters), each sending its next call once the previous one
 * settles, until stop(): the worker run time of each call completed meanwhile.
 */
export function closedLoop(inst: TrafficInstance, callers: number, iters: number) {
  let [running, next] = [true, 0];
  const runMs: number[] = [];
  const lanes = Promise.all(
    Array.from({ length: callers }, async () => {
      for (let a = next++; running; a = next++) {
        const r = await inst.spin(a, iters);
        check(r, a);
        if (running) runMs.push(r.r);
      }
    }),
  );
  lanes.catch(() => {}); // a failed call is thrown by stop()
  const stop = async () => {
    running = false;
    await lanes;
  };
  return { runMs, stop };
}
