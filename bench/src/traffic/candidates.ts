// The three pools of the traffic comparison: smartasync, piscina and a hand-written
// worker_threads pool. Each runs the same bodies (./work.ts) on the same number of threads.
import { Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import type { Kind } from '../types.ts';
import type { Stamp } from './work.ts';

/** How a candidate's workers were started before its first call. */
export interface StartInfo {
  /**
   * `warm()`: smartasync's getPool().warm(); `constructor`: piscina's minThreads; `online`: the
   * hand-written pool waited for its workers' `online` events.
   */
  method: 'warm()' | 'constructor' | 'online';
  /** ms from creating the pool to the end of that step */
  ms: number;
  /** worker threads alive when the first call is made, where the pool says */
  workers?: number;
}

export interface TrafficInstance {
  light(a: number): Promise<Stamp>;
  spin(a: number, iters: number): Promise<Stamp>;
  /** worker threads alive now, where the pool tells */
  workers(): number | undefined;
  close(): Promise<void>;
  start: StartInfo;
}

export interface TrafficCandidate {
  id: string;
  lib: string;
  kind: Kind;
  note: string;
  create(opts: { workers: number }): Promise<TrafficInstance>;
}

// Keep workers alive across the pauses between blocks.
const IDLE = 1 << 30;
const task = new URL('../workers/traffic-task.ts', import.meta.url);
const rawWorker = new URL('../workers/traffic-raw-worker.ts', import.meta.url);

const smartasync: TrafficCandidate = {
  id: 'smartasync',
  lib: 'smartasync',
  kind: 'subject',
  note: 'smartasync(fn) of a sync function, awaited; configure({ size }), then getPool().warm() (which also starts the express worker)',
  async create({ workers }) {
    const t0 = performance.now();
    const lib = await import('smartasync');
    lib.configure({ size: workers });
    const tasks = await import('../workers/traffic-smartasync.ts');
    await lib.getPool().warm();
    const start: StartInfo = { method: 'warm()', ms: performance.now() - t0, workers: lib.getPool().stats().workers };
    return {
      light: (a) => tasks.light({ a }),
      spin: (a, iters) => tasks.spin({ a, iters }),
      workers: () => lib.getPool().stats().workers,
      close: () => lib.getPool().close(),
      start,
    };
  },
};

const piscina: TrafficCandidate = {
  id: 'piscina:default',
  lib: 'piscina',
  kind: 'peer',
  note: 'piscina defaults, minThreads = maxThreads = pool size, idleTimeout off',
  async create({ workers }) {
    const t0 = performance.now();
    const pool = new Piscina({ filename: task.href, minThreads: workers, maxThreads: workers, idleTimeout: IDLE });
    return {
      light: (a) => pool.run({ a }) as Promise<Stamp>,
      spin: (a, iters) => pool.run({ a, iters }, { name: 'spin' }) as Promise<Stamp>,
      workers: () => pool.threads.length,
      close: () => pool.destroy(),
      start: { method: 'constructor', ms: performance.now() - t0, workers: pool.threads.length },
    };
  },
};

// What a user writes without a library: N workers, each call posted to the worker with the
// fewest calls outstanding (the first on a tie), replies matched by id.
const raw: TrafficCandidate = {
  id: 'raw:postMessage',
  lib: 'raw',
  kind: 'baseline',
  note: 'hand-written: worker.postMessage([id, op, arg]) each way, to the worker with the fewest calls outstanding',
  async create({ workers }) {
    const t0 = performance.now();
    const ws = Array.from({ length: workers }, () => new Worker(rawWorker));
    await Promise.all(
      ws.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('online', () => resolve());
            w.once('error', reject);
          }),
      ),
    );
    const outstanding = ws.map(() => 0);
    const pending = new Map<number, { resolve: (v: Stamp) => void; w: number }>();
    ws.forEach((w) =>
      w.on('message', (m: [number, Stamp]) => {
        const p = pending.get(m[0]);
        if (!p) return;
        pending.delete(m[0]);
        outstanding[p.w]!--;
        p.resolve(m[1]);
      }),
    );
    let next = 0;
    function call(op: 0 | 1, arg: { a: number; iters?: number }): Promise<Stamp> {
      let w = 0;
      for (let i = 1; i < ws.length; i++) if (outstanding[i]! < outstanding[w]!) w = i;
      const id = next++;
      outstanding[w]!++;
      return new Promise<Stamp>((resolve) => {
        pending.set(id, { resolve, w });
        ws[w]!.postMessage([id, op, arg]);
      });
    }
    return {
      light: (a) => call(0, { a }),
      spin: (a, iters) => call(1, { a, iters }),
      workers: () => ws.length,
      close: async () => {
        await Promise.all(ws.map((w) => w.terminate()));
      },
      start: { method: 'online', ms: performance.now() - t0, workers: ws.length },
    };
  },
};

export const TRAFFIC_CANDIDATES: TrafficCandidate[] = [smartasync, piscina, raw];

export function pickCandidates(only?: string[]): TrafficCandidate[] {
  return only?.length
    ? TRAFFIC_CANDIDATES.filter((c) => only.some((o) => c.id === o || c.lib === o))
    : TRAFFIC_CANDIDATES;
}
