// Floor for the sync direction: the worker keeps its event loop (it has to await an async
// function) and is woken by Atomics.waitAsync; the caller blocks in Atomics.wait.
import { workerData } from 'node:worker_threads';
import { noop } from '../tasks.ts';

const i32 = new Int32Array(workerData.sab as SharedArrayBuffer);
const ping = async (x: { a: number }) => noop(x);

// A pending Atomics.waitAsync does not keep a thread's event loop alive; this timer does.
const keepAlive = setInterval(() => {}, 1 << 30);

let seen = 0;
for (;;) {
  const w = Atomics.waitAsync(i32, 0, seen);
  if (w.async) await w.value;
  seen = Atomics.load(i32, 0);
  if (seen < 0) break;
  const r = await ping({ a: Atomics.load(i32, 3) });
  Atomics.store(i32, 2, r.a);
  Atomics.store(i32, 1, seen);
  Atomics.notify(i32, 1);
}
clearInterval(keepAlive);
