// Hand-written worker_threads: the cost of Node's own messaging with nothing on top, and the
// SharedArrayBuffer + Atomics floor under it.
import { Worker } from 'node:worker_threads';
import type { Row, Small } from '../tasks.ts';
import type { AdapterModule, AsyncCandidate, SyncCandidate } from '../types.ts';

const rawWorker = new URL('../workers/raw-worker.ts', import.meta.url);
const floorWorker = new URL('../workers/floor-worker.ts', import.meta.url);
const syncFloorWorker = new URL('../workers/sync-floor-worker.ts', import.meta.url);

function online(w: Worker): Promise<void> {
  return new Promise((resolve, reject) => {
    w.once('online', () => resolve());
    w.once('error', reject);
  });
}

function rawCandidate(json: boolean): AsyncCandidate {
  return {
    id: json ? 'raw:postMessage+JSON' : 'raw:postMessage',
    lib: 'raw',
    kind: 'baseline',
    config: '-',
    note: json
      ? 'as raw:postMessage, but the worker sends the rows as JSON.stringify text (payload only)'
      : 'worker.postMessage([id, op, arg]) each way, replies matched by id, round-robin over workers',
    batching: !json,
    payload: true,
    roundtrip: !json,
    async create({ workers }) {
      const ws = Array.from({ length: workers }, () => new Worker(rawWorker));
      await Promise.all(ws.map(online));
      const pending = new Map<number, (v: unknown) => void>();
      for (const w of ws) {
        w.on('message', (m: [number, unknown]) => {
          const resolve = pending.get(m[0]);
          pending.delete(m[0]);
          resolve?.(m[1]);
        });
      }
      let next = 0;
      function call<T>(op: 0 | 1 | 2, arg: unknown): Promise<T> {
        const id = next++;
        const w = ws[id % ws.length] as Worker;
        return new Promise<T>((resolve) => {
          pending.set(id, resolve as (v: unknown) => void);
          w.postMessage([id, op, arg]);
        });
      }
      return {
        noop: (x) => call<Small>(0, x),
        rows: json ? (n) => call<string>(2, n) : (n) => call<Row[]>(1, n),
        close: async () => {
          await Promise.all(ws.map((w) => w.terminate()));
        },
      };
    },
  };
}

const raw = rawCandidate(false);
const rawJson = rawCandidate(true);

// One call at a time by construction: a single request slot. Reported only in the round-trip
// comparison, as the lower bound of any thread hop on this machine.
const floor: AsyncCandidate = {
  id: 'floor:atomics',
  lib: 'floor',
  kind: 'floor',
  config: '-',
  note: 'SharedArrayBuffer ping-pong: Atomics.notify to wake the worker, Atomics.waitAsync for the reply; an int, no object',
  batching: false,
  payload: false,
  async create() {
    const sab = new SharedArrayBuffer(16);
    const i32 = new Int32Array(sab);
    const w = new Worker(floorWorker, { workerData: { sab } });
    await online(w);
    let seq = 0;
    return {
      async noop(x) {
        const s = ++seq;
        Atomics.store(i32, 3, x.a);
        Atomics.store(i32, 0, s);
        Atomics.notify(i32, 0);
        for (;;) {
          const cur = Atomics.load(i32, 1);
          if (cur === s) break;
          const r = Atomics.waitAsync(i32, 1, cur);
          if (r.async) await r.value;
        }
        return { ok: true, a: Atomics.load(i32, 2) - 1 };
      },
      close: async () => {
        Atomics.store(i32, 0, -1);
        Atomics.notify(i32, 0);
        await w.terminate();
      },
    };
  },
};

const syncFloor: SyncCandidate = {
  id: 'floor:atomics-sync',
  lib: 'floor',
  kind: 'floor',
  config: '-',
  note: 'caller blocks in Atomics.wait; worker wakes via Atomics.waitAsync, awaits the async function, notifies; an int, no object',
  async create() {
    const sab = new SharedArrayBuffer(16);
    const i32 = new Int32Array(sab);
    const w = new Worker(syncFloorWorker, { workerData: { sab } });
    await online(w);
    let seq = 0;
    return {
      ping(x) {
        const s = ++seq;
        Atomics.store(i32, 3, x.a);
        Atomics.store(i32, 0, s);
        Atomics.notify(i32, 0);
        while (Atomics.load(i32, 1) !== s) {
          if (Atomics.wait(i32, 1, s - 1, 5000) === 'timed-out')
            throw new Error('sync floor worker did not answer in 5 s');
        }
        return { ok: true, a: Atomics.load(i32, 2) };
      },
      close: async () => {
        Atomics.store(i32, 0, -1);
        Atomics.notify(i32, 0);
        await w.terminate();
      },
    };
  },
};

export const asyncCandidates = [raw, rawJson, floor];
export const syncCandidates = [syncFloor];
export default { asyncCandidates, syncCandidates } satisfies AdapterModule;
