// The peers, each in its default configuration (only the pool size forced, so every
// candidate runs on the same number of threads) and in its best one for batching.
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import Tinypool from 'tinypool';
import workerpool from 'workerpool';
import { FixedThreadPool } from 'poolifier';
import type { Row, Small } from '../tasks.ts';
import type { AdapterModule, AsyncCandidate, AsyncInstance } from '../types.ts';

const poolTask = new URL('../workers/pool-task.ts', import.meta.url);
const workerpoolWorker = fileURLToPath(new URL('../workers/workerpool-worker.ts', import.meta.url));
const poolifierWorker = fileURLToPath(new URL('../workers/poolifier-worker.ts', import.meta.url));

// Calls per worker that the tuned configurations allow in flight; 256 calls spread over one
// or two workers never exceed it, so the main thread never holds a call back.
const IN_FLIGHT = 256;
// Keep workers alive across the pauses between blocks.
const IDLE = 1 << 30;

// piscina's best batching configuration depends on the run (atomics 'sync' and 'async' trade
// places within noise), so both are measured and the targets compare against the better.
type PiscinaConfig = 'default' | 'best' | 'best-async';

function piscina(config: PiscinaConfig): AsyncCandidate {
  const extra =
    config === 'default'
      ? {}
      : {
          concurrentTasksPerWorker: IN_FLIGHT,
          atomics: config === 'best' ? ('sync' as const) : ('async' as const),
          recordTiming: false,
        };
  return {
    id: `piscina:${config}`,
    lib: 'piscina',
    kind: 'peer',
    config: config === 'default' ? 'default' : 'best',
    note:
      config === 'default'
        ? 'defaults'
        : `concurrentTasksPerWorker ${IN_FLIGHT}, atomics '${extra.atomics}', recordTiming false`,
    batching: true,
    payload: config === 'default',
    async create({ workers }) {
      const pool = new Piscina({
        filename: poolTask.href,
        minThreads: workers,
        maxThreads: workers,
        idleTimeout: IDLE,
        ...extra,
      });
      return {
        noop: (x) => pool.run(x) as Promise<Small>,
        rows: (n) => pool.run(n, { name: 'rows' }) as Promise<Row[]>,
        close: () => pool.destroy(),
      };
    },
  };
}

function tinypool(config: 'default' | 'best'): AsyncCandidate {
  const extra = config === 'best' ? { concurrentTasksPerWorker: IN_FLIGHT } : {};
  return {
    id: `tinypool:${config}`,
    lib: 'tinypool',
    kind: 'peer',
    config,
    note: config === 'best' ? `concurrentTasksPerWorker ${IN_FLIGHT}` : 'defaults',
    batching: true,
    payload: config === 'default',
    async create({ workers }) {
      const pool = new Tinypool({
        filename: poolTask.href,
        minThreads: workers,
        maxThreads: workers,
        idleTimeout: IDLE,
        ...extra,
      });
      return {
        noop: (x) => pool.run(x) as Promise<Small>,
        rows: (n) => pool.run(n, { name: 'rows' }) as Promise<Row[]>,
        close: () => pool.destroy(),
      };
    },
  };
}

// workerpool runs one task per worker at a time and has no knob for more, so its default is
// also its best.
const workerpoolCandidate: AsyncCandidate = {
  id: 'workerpool:default',
  lib: 'workerpool',
  kind: 'peer',
  config: 'default',
  note: "defaults, workerType 'thread' (one task per worker at a time; no batching option)",
  batching: true,
  payload: true,
  async create({ workers }) {
    const pool = workerpool.pool(workerpoolWorker, { minWorkers: workers, maxWorkers: workers, workerType: 'thread' });
    return {
      noop: (x) => pool.exec('noop', [x]) as unknown as Promise<Small>,
      rows: (n) => pool.exec('rows', [n]) as unknown as Promise<Row[]>,
      close: async () => {
        await pool.terminate();
      },
    };
  },
};

function poolifier(config: 'default' | 'best'): AsyncCandidate {
  const opts =
    config === 'best'
      ? {
          enableEvents: false,
          enableTasksQueue: true,
          tasksQueueOptions: {
            concurrency: IN_FLIGHT,
            size: IN_FLIGHT * 4,
            taskStealing: false,
            tasksStealingOnBackPressure: false,
          },
          workerChoiceStrategy: 'ROUND_ROBIN' as const,
        }
      : {};
  return {
    id: `poolifier:${config}`,
    lib: 'poolifier',
    kind: 'peer',
    config,
    note:
      config === 'best'
        ? `tasks queue concurrency ${IN_FLIGHT}, ROUND_ROBIN, events off, no stealing`
        : 'defaults (FixedThreadPool)',
    batching: true,
    payload: config === 'default',
    async create({ workers }) {
      const pool = new FixedThreadPool<{ a: number } | number, Small | Row[]>(workers, poolifierWorker, opts);
      const inst: AsyncInstance = {
        noop: (x) => pool.execute(x, 'noop') as Promise<Small>,
        rows: (n) => pool.execute(n, 'rows') as Promise<Row[]>,
        close: () => pool.destroy(),
      };
      return inst;
    },
  };
}

export const asyncCandidates: AsyncCandidate[] = [
  piscina('default'),
  piscina('best'),
  piscina('best-async'),
  tinypool('default'),
  tinypool('best'),
  workerpoolCandidate,
  poolifier('default'),
  poolifier('best'),
];

export default { asyncCandidates } satisfies AdapterModule;
