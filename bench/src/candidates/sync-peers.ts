// Peers for the sync direction: block the calling thread until a worker settles an async
// function.
import { createSyncFn } from 'synckit';
import makeSynchronous from 'make-synchronous';
import { fileURLToPath } from 'node:url';
import type { Small } from '../tasks.ts';
import type { AdapterModule, SyncCandidate } from '../types.ts';

const synckitWorker = fileURLToPath(new URL('../workers/synckit-worker.ts', import.meta.url));

const synckit: SyncCandidate = {
  id: 'synckit:default',
  lib: 'synckit',
  kind: 'peer',
  config: 'default',
  note: "createSyncFn(worker) with defaults; Node's own type stripping as the TS runner",
  async create() {
    const fn = createSyncFn<(x: { a: number }) => Promise<Small>>(synckitWorker, { tsRunner: 'node' });
    fn({ a: 0 });
    return { ping: (x) => fn(x), close: async () => {} };
  },
};

const makeSync: SyncCandidate = {
  id: 'make-synchronous:default',
  lib: 'make-synchronous',
  kind: 'peer',
  config: 'default',
  note: 'makeSynchronous(async fn); the function travels as source text, so its body is inlined',
  async create() {
    // make-synchronous re-evaluates the function from its source in the worker, where no
    // import is in scope: the body must be self-contained, so it repeats the body of `noop` inline.
    const fn = makeSynchronous(async (x: { a: number }) => ({ ok: true as const, a: x.a }));
    fn({ a: 0 });
    return { ping: (x) => fn(x), close: async () => {} };
  },
};

export const syncCandidates = [synckit, makeSync];
export default { syncCandidates } satisfies AdapterModule;
