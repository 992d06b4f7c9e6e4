// The candidates of sections 1–4: smartasync, each peer in its default configuration (only the pool
// size forced, so every candidate runs on the same threads) and in its best one for batching, the
// hand-written worker_threads baseline and the SharedArrayBuffer + Atomics floors. Another smartasync
// build is compared with `npm run bench:compare` (compare.ts), not here.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import makeSynchronous from 'make-synchronous';
import { Piscina } from 'piscina';
import { FixedThreadPool } from 'poolifier';
import { createSyncFn } from 'synckit';
import Tinypool from 'tinypool';
import workerpool from 'workerpool';
import { IN_FLIGHT } from './plan.ts';
import type { Row, Small } from './tasks.ts';

export interface CandidateInfo {
  /** unique, stable id used in results.json and on the command line, e.g. `piscina:best` */
  id: string;
  /** the library (or `raw`/`floor`), used to pick each peer's best configuration */
  lib: string;
  /** the targets compare `subject` with `peer` */
  kind: 'subject' | 'peer' | 'baseline' | 'floor';
  /** `default` = library defaults apart from pool size; `best` = tuned; `-` = no knobs */
  config: 'default' | 'best' | '-';
  note: string;
}
type Close = { close(): Promise<void> };
/** `rows`: the 1,000 rows as objects or, for candidates that hand over JSON text, as that text. */
export type AsyncInstance = Close & {
  noop(x: { a: number }): Promise<Small>;
  rows?(n: number): Promise<Row[] | string>;
};
export type SyncInstance = Close & { ping(x: { a: number }): Small };
type Section = 'roundtrip' | 'throughput' | 'payload';
type AsyncCandidate = CandidateInfo & { sections: Section[]; create(o: { workers: number }): Promise<AsyncInstance> };
type SyncCandidate = CandidateInfo & { create(): Promise<SyncInstance> };
const ALL: Section[] = ['roundtrip', 'throughput', 'payload'];
const NO_PAYLOAD: Section[] = ['roundtrip', 'throughput'];
/** `id|kind|config|note`; the library is the id up to its first `:` or `.`. */
const info = (row: string) => {
  const [id, kind, config, note] = row.split('|') as [string, CandidateInfo['kind'], CandidateInfo['config'], string];
  return { id, lib: id.split(/[:.]/)[0]!, kind, config, note };
};

const worker = (f: string) => new URL(`./workers/${f}`, import.meta.url);
// Calls per worker the tuned configurations allow in flight: the throughput section's 256 calls over one
// or two workers never exceed it, so no pool holds a call back.
/** piscina's and tinypool's options, as section 6's `piscina:default` uses them too: min = max threads, kept alive between blocks. */
export const poolOptions = (workers: number) => ({
  filename: worker('pool-task.ts').href,
  minThreads: workers,
  maxThreads: workers,
  idleTimeout: 1 << 30,
});

// smartasync's pool size is set once per process before first use; every job has its own process.
let configured: number | undefined;
export async function smartasync(workers: number) {
  const lib = await import('smartasync');
  if (configured === undefined) lib.configure({ size: (configured = workers) });
  else if (configured !== workers) throw new Error(`smartasync pool already configured with ${configured} workers`);
  return { lib, tasks: await import('./workers/smartasync.ts') };
}

/** A candidate of sections 1–3 from its `id|kind|config|note` row; `open` starts it on `workers` threads. */
const asyncCandidate = (
  row: string,
  sections: Section[],
  open: (workers: number) => AsyncInstance | Promise<AsyncInstance>,
): AsyncCandidate => ({ ...info(row), sections, create: async ({ workers }) => open(workers) });
const syncCandidate = (row: string, create: () => Promise<SyncInstance>): SyncCandidate => ({ ...info(row), create });

const subject = (id: string, note: string, json: boolean) =>
  asyncCandidate(`${id}|subject|default|${note}`, json ? ['payload'] : ALL, async (workers) => {
    const { lib, tasks } = await smartasync(workers);
    const rows = json ? (n: number) => tasks.rows.json(n) : (n: number) => tasks.rows(n) as Promise<Row[]>;
    return { noop: (x) => tasks.noop(x) as Promise<Small>, rows, close: () => lib.getPool().close() };
  });

// The tuned configurations allow IN_FLIGHT calls per worker: the throughput section's 256 calls over one
// or two workers never exceed it, so no pool holds a call back. piscina's best batching configuration
// depends on the run (atomics 'sync' and 'async' trade places within noise), so both are measured and the
// targets compare against the better.
function tinyOrPiscina(lib: 'piscina' | 'tinypool', config: 'default' | 'best' | 'best-async'): AsyncCandidate {
  const [tuned, atomics] = [config !== 'default', config === 'best' ? 'sync' : 'async'];
  const piscinaOnly = lib === 'piscina' ? { atomics, recordTiming: false } : {};
  const batching = tuned ? { concurrentTasksPerWorker: IN_FLIGHT, ...piscinaOnly } : {};
  const piscinaNote = lib === 'piscina' ? `, atomics '${atomics}', recordTiming false` : '';
  const note = tuned ? `concurrentTasksPerWorker ${IN_FLIGHT}${piscinaNote}` : 'defaults';
  const row = `${lib}:${config}|peer|${tuned ? 'best' : 'default'}|${note}`;
  return asyncCandidate(row, tuned ? NO_PAYLOAD : ALL, (workers) => {
    const options = { ...poolOptions(workers), ...batching };
    const pool = lib === 'piscina' ? new Piscina(options as object) : new Tinypool(options);
    return { noop: (x) => pool.run(x), rows: (n) => pool.run(n, { name: 'rows' }), close: () => pool.destroy() };
  });
}

// The tuned poolifier: a tasks queue deep enough for every call in flight, round robin, no events or stealing.
const queue = { concurrency: IN_FLIGHT, size: IN_FLIGHT * 4, taskStealing: false, tasksStealingOnBackPressure: false };
const poolifierBest = { enableEvents: false, enableTasksQueue: true, tasksQueueOptions: queue };
const poolifierNotes = {
  default: 'defaults (FixedThreadPool)',
  best: `tasks queue concurrency ${IN_FLIGHT}, ROUND_ROBIN, events off, no stealing`,
};
function poolifier(config: 'default' | 'best'): AsyncCandidate {
  const row = `poolifier:${config}|peer|${config}|${poolifierNotes[config]}`;
  return asyncCandidate(row, config === 'best' ? NO_PAYLOAD : ALL, (workers) => {
    const file = fileURLToPath(worker('poolifier-worker.ts'));
    const opts = config === 'best' ? { ...poolifierBest, workerChoiceStrategy: 'ROUND_ROBIN' as const } : {};
    const pool = new FixedThreadPool<{ a: number } | number, Small | Row[]>(workers, file, opts);
    return {
      noop: (x) => pool.execute(x, 'noop') as Promise<Small>,
      rows: (n) => pool.execute(n, 'rows') as Promise<Row[]>,
      close: () => pool.destroy(),
    };
  });
}

// workerpool runs one task per worker at a time and has no knob for more: its default is its best.
const workerpoolNote = "defaults, workerType 'thread' (one task per worker at a time; no batching option)";
const workerpoolCandidate = asyncCandidate(`workerpool:default|peer|default|${workerpoolNote}`, ALL, (workers) => {
  const file = fileURLToPath(worker('workerpool-worker.ts'));
  const pool = workerpool.pool(file, { minWorkers: workers, maxWorkers: workers, workerType: 'thread' });
  return {
    noop: (x) => pool.exec('noop', [x]) as unknown as Promise<Small>,
    rows: (n) => pool.exec('rows', [n]) as unknown as Promise<Row[]>,
    close: async () => void (await pool.terminate()),
  };
});

const online = (w: Worker) =>
  new Promise<void>((resolve, reject) => {
    w.once('online', () => resolve());
    w.once('error', reject);
  });

/** Hand-written workers: `postMessage([id, op, arg])` each way (src/workers/raw-worker.ts), replies matched by id. */
export async function rawPool(workers: number, pick: (outstanding: number[], id: number) => number) {
  const ws = Array.from({ length: workers }, () => new Worker(worker('raw-worker.ts')));
  await Promise.all(ws.map(online));
  const outstanding = ws.map(() => 0);
  const pending = new Map<number, { resolve: (v: never) => void; w: number }>();
  ws.forEach((w) =>
    w.on('message', ([id, result]: [number, never]) => {
      const p = pending.get(id)!;
      pending.delete(id);
      outstanding[p.w]!--;
      p.resolve(result);
    }),
  );
  let next = 0;
  return {
    call<T>(op: number, arg: unknown): Promise<T> {
      const id = next++;
      const w = pick(outstanding, id);
      outstanding[w]!++;
      return new Promise<T>((resolve) => {
        pending.set(id, { resolve: resolve as (v: never) => void, w });
        ws[w]!.postMessage([id, op, arg]);
      });
    },
    close: async () => void (await Promise.all(ws.map((w) => w.terminate()))),
  };
}

const raw = (json: boolean) =>
  asyncCandidate(
    json
      ? 'raw:postMessage+JSON|baseline|-|as raw:postMessage, but the worker sends the rows as JSON.stringify text (payload only)'
      : 'raw:postMessage|baseline|-|worker.postMessage([id, op, arg]) each way, replies matched by id, round-robin over workers',
    json ? ['payload'] : ALL,
    async (workers) => {
      const pool = await rawPool(workers, (_, id) => id % workers);
      return { noop: (x) => pool.call(0, x), rows: (n) => pool.call(json ? 2 : 1, n), close: pool.close };
    },
  );

/** The floors: a SharedArrayBuffer ping-pong with a worker (slot 0 the request, 1 the reply, 2–3 values). */
async function atomicsWorker(file: string) {
  const i32 = new Int32Array(new SharedArrayBuffer(16));
  const w = new Worker(worker(file), { workerData: { sab: i32.buffer } });
  await online(w);
  const send = (seq: number, a: number) => {
    Atomics.store(i32, 3, a);
    Atomics.store(i32, 0, seq);
    Atomics.notify(i32, 0);
  };
  return { i32, send, close: async () => void (send(-1, 0), await w.terminate()) };
}

// One call at a time by construction, so reported only in the round trip: the lower bound of any thread hop here.
const floor = asyncCandidate(
  'floor:atomics|floor|-|SharedArrayBuffer ping-pong: Atomics.notify to wake the worker, Atomics.waitAsync for the reply; an int, no object',
  ['roundtrip'],
  async () => {
    const { i32, send, close } = await atomicsWorker('floor-worker.ts');
    let seq = 0;
    const noop = async (x: { a: number }): Promise<Small> => {
      send(++seq, x.a);
      for (let cur = Atomics.load(i32, 1); cur !== seq; cur = Atomics.load(i32, 1)) {
        const r = Atomics.waitAsync(i32, 1, cur);
        if (r.async) await r.value;
      }
      return { ok: true, a: Atomics.load(i32, 2) - 1 };
    };
    return { noop, close };
  },
);

const syncFloor = syncCandidate(
  'floor:atomics-sync|floor|-|caller blocks in Atomics.wait; worker wakes via Atomics.waitAsync, awaits the async function, notifies; an int, no object',
  async () => {
    const { i32, send, close } = await atomicsWorker('sync-floor-worker.ts');
    let seq = 0;
    const ping = (x: { a: number }): Small => {
      send(++seq, x.a);
      while (Atomics.load(i32, 1) !== seq)
        if (Atomics.wait(i32, 1, seq - 1, 5000) === 'timed-out')
          throw new Error('sync floor worker did not answer in 5 s');
      return { ok: true, a: Atomics.load(i32, 2) };
    };
    return { ping, close };
  },
);

const smartasyncSync = syncCandidate(
  'smartasync.sync|subject|default|f.sync(x) of an async function: the caller blocks until a pool worker settles it',
  async () => {
    const { lib, tasks } = await smartasync(1);
    tasks.ping.sync({ a: 0 });
    return { ping: (x) => tasks.ping.sync(x) as Small, close: () => lib.getPool().close() };
  },
);

const synckit = syncCandidate(
  "synckit:default|peer|default|createSyncFn(worker) with defaults; Node's own type stripping as the TS runner",
  async () => {
    const file = fileURLToPath(worker('synckit-worker.ts'));
    const fn = createSyncFn<(x: { a: number }) => Promise<Small>>(file, { tsRunner: 'node' });
    fn({ a: 0 });
    return { ping: (x) => fn(x), close: async () => {} };
  },
);

const makeSync = syncCandidate(
  'make-synchronous:default|peer|default|makeSynchronous(async fn); the function travels as source text, so its body is inlined',
  async () => {
    // Re-evaluated from its source in the worker, where no import is in scope: the body of `noop`, inline.
    const fn = makeSynchronous(async (x: { a: number }) => ({ ok: true as const, a: x.a }));
    fn({ a: 0 });
    return { ping: (x) => fn(x), close: async () => {} };
  },
);

export const asyncCandidates: AsyncCandidate[] = [
  subject('smartasync', 'smartasync(fn) of a sync function, awaited; configure({ size }) only', false),
  // For results that go straight into an HTTP response: JSON text made on the worker (payload only).
  subject('smartasync.json', 'f.json(n): the result as JSON text made on the worker', true),
  ...(['default', 'best', 'best-async'] as const).map((c) => tinyOrPiscina('piscina', c)),
  ...(['default', 'best'] as const).map((c) => tinyOrPiscina('tinypool', c)),
  workerpoolCandidate,
  poolifier('default'),
  poolifier('best'),
  raw(false),
  raw(true),
  floor,
];
export const syncCandidates: SyncCandidate[] = [smartasyncSync, syncFloor, synckit, makeSync];
