// The subject. A faster transport is one more adapter like this one: copy the file, point
// `load()` at the candidate build, give it a new id, and list it in ./index.ts (or pass it
// with `--adapter`).
import type { Row, Small } from '../tasks.ts';
import type { AdapterModule, AsyncCandidate, SyncCandidate } from '../types.ts';

// smartasync's pool size is set once per process before first use; the runner gives every
// job its own process, so each job configures it exactly once here.
let configured: number | undefined;

async function load(workers: number) {
  const lib = await import('smartasync');
  if (configured === undefined) {
    lib.configure({ size: workers });
    configured = workers;
  } else if (configured !== workers) {
    throw new Error(`smartasync pool already configured with ${configured} workers in this process`);
  }
  const tasks = await import('../workers/smartasync-tasks.ts');
  return { lib, tasks };
}

const offload: AsyncCandidate = {
  id: 'smartasync',
  lib: 'smartasync',
  kind: 'subject',
  config: 'default',
  note: 'smartasync(fn) of a sync function, awaited; configure({ size }) only',
  batching: true,
  payload: true,
  async create({ workers }) {
    const { lib, tasks } = await load(workers);
    return {
      noop: (x) => tasks.noop(x) as Promise<Small>,
      rows: (n) => tasks.rows(n) as Promise<Row[]>,
      close: () => lib.getPool().close(),
    };
  },
};

// For results that go straight into an HTTP response: the worker makes the JSON text and the
// main thread never builds the objects (payload comparison only).
const json: AsyncCandidate = {
  id: 'smartasync.json',
  lib: 'smartasync',
  kind: 'subject',
  config: 'default',
  note: 'f.json(n): the result as JSON text made on the worker',
  batching: false,
  payload: true,
  roundtrip: false,
  async create({ workers }) {
    const { lib, tasks } = await load(workers);
    return {
      noop: (x) => tasks.noop(x) as Promise<Small>,
      rows: (n) => tasks.rows.json(n),
      close: () => lib.getPool().close(),
    };
  },
};

const sync: SyncCandidate = {
  id: 'smartasync.sync',
  lib: 'smartasync',
  kind: 'subject',
  config: 'default',
  note: 'f.sync(x) of an async function: the caller blocks until a pool worker settles it',
  async create() {
    const { lib, tasks } = await load(1);
    tasks.ping.sync({ a: 0 });
    return {
      ping: (x) => tasks.ping.sync(x) as Small,
      close: () => lib.getPool().close(),
    };
  },
};

export const asyncCandidates = [offload, json];
export const syncCandidates = [sync];
export default { asyncCandidates, syncCandidates } satisfies AdapterModule;
