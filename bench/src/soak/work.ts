// The body every soak candidate runs on its worker: half the calls throw, half return a small
// object, as a server's calls do when many requests ask for rows that are not there.
import { BroadcastChannel, isMainThread, threadId } from 'node:worker_threads';
import v8 from 'node:v8';

/** What a successful soak call returns. */
export type Row = { i: number; name: string; ok: true };

/**
 * A worker's V8 heap in bytes, as it reports it on `HEAP_CHANNEL`: `used` by live and not yet collected
 * objects, `total` reserved (what the heap adds to RSS), `external` held outside the heap by objects in it
 * (Buffers, ArrayBuffers), as V8 counts them.
 */
export type WorkerHeap = { threadId: number; used: number; total: number; external: number };
export const HEAP_CHANNEL = 'smartasync-bench-soak-heap';
let channel: BroadcastChannel | undefined;
let lastReport = Number.NEGATIVE_INFINITY;

/**
 * Odd `i` throws an Error with a message (a fresh stack each time), even `i` returns a row. At most once
 * a second a call also reports its worker's heap: from inside a call, so the same for every pool, touching
 * no pool's internals, whether or not the pool lets its workers' timers run (piscina's workers wait in
 * Atomics.wait between calls, where no timer fires).
 */
export function lookup(i: number): Row {
  const now = performance.now();
  if (!isMainThread && now - lastReport >= 1000) {
    lastReport = now;
    channel ??= new BroadcastChannel(HEAP_CHANNEL).unref();
    const h = v8.getHeapStatistics();
    channel.postMessage({ threadId, used: h.used_heap_size, total: h.total_heap_size, external: h.external_memory });
  }
  if (i & 1) throw new Error(`row ${i} was not found`);
  return { i, name: `user-${i}`, ok: true };
}
