// The three pools of section 6: smartasync, piscina with its defaults and a hand-written
// worker_threads pool, each running the same bodies (src/tasks.ts: light, spin) on the same threads;
// the soak runs the first two.
import { Piscina } from 'piscina';
import { rawPool, type CandidateInfo } from '../candidates.ts';
import type { CandidateResult } from '../micro.ts';
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
export type TrafficCandidate = Omit<CandidateInfo, 'config'> & {
  create(o: { workers: number }): Promise<TrafficInstance>;
};

export const POOLS: TrafficCandidate[] = [
  {
    id: 'smartasync',
    lib: 'smartasync',
    kind: 'subject',
    note: 'smartasync(fn) of a sync function, awaited; configure({ size }), then getPool().warm() (which also starts the express worker)',
    async create({ workers }) {
      const t0 = performance.now();
      const lib = await import('smartasync');
      lib.configure({ size: workers });
      const tasks = await import('../workers/smartasync.ts');
      await lib.getPool().warm();
      const count = () => lib.getPool().stats().workers;
      return {
        light: (a) => tasks.light({ a }),
        spin: (a, iters) => tasks.spin({ a, iters }),
        lookup: (i) => tasks.lookup(i),
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
      const filename = new URL('../workers/pool-task.ts', import.meta.url).href;
      const pool = new Piscina({ filename, minThreads: workers, maxThreads: workers, idleTimeout: 1 << 30 });
      return {
        light: (a) => pool.run({ a }, { name: 'light' }) as Promise<Stamp>,
        spin: (a, iters) => pool.run({ a, iters }, { name: 'spin' }) as Promise<Stamp>,
        lookup: (i) => pool.run(i, { name: 'lookup' }),
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
      return {
        light: (a) => pool.call<Stamp>(3, { a }),
        spin: (a, iters) => pool.call<Stamp>(4, { a, iters }),
        lookup: (i) => pool.call(5, i),
        workers: () => workers,
        close: pool.close,
        start: { method: 'online', ms: performance.now() - t0, workers },
      };
    },
  },
];

/** The pools for `interleave` (src/micro.ts), and each one's result as results.json keeps it. */
export function candidates(only: string[] | undefined, workers: number) {
  const starts = new Map<string, StartInfo>();
  const chosen = POOLS.filter((c) => !only?.length || only.some((o) => c.id === o || c.lib === o));
  const cs = chosen.map((c) => ({
    info: {
      id: c.id,
      lib: c.lib,
      kind: c.kind,
      config: c.kind === 'baseline' ? ('-' as const) : ('default' as const),
      note: c.note,
    },
    create: async () => {
      const inst = await c.create({ workers });
      starts.set(c.id, inst.start);
      return inst;
    },
  }));
  const meta = ({ id, lib, kind, note, error }: CandidateResult) => ({
    id,
    lib,
    kind,
    note,
    ...(starts.has(id) ? { start: starts.get(id)! } : {}),
    ...(error ? { error } : {}),
  });
  return { cs, meta };
}

export function check(r: Stamp, a: number): void {
  if (r.a !== a) throw new Error(`wrong result: ${JSON.stringify(r)} for a=${a}`);
}
