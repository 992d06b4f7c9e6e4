// The floor: no serialisation, no message queue, only a futex wake each way. Slot 0 carries
// the request sequence number, slot 1 the reply; the worker thread does nothing but wait.
import { workerData } from 'node:worker_threads';

const i32 = new Int32Array(workerData.sab as SharedArrayBuffer);
let seen = 0;
for (;;) {
  Atomics.wait(i32, 0, seen);
  seen = Atomics.load(i32, 0);
  if (seen < 0) break;
  // The "work": echo a value derived from the request so the reply cannot be precomputed.
  Atomics.store(i32, 2, Atomics.load(i32, 3) + 1);
  Atomics.store(i32, 1, seen);
  Atomics.notify(i32, 1);
}
