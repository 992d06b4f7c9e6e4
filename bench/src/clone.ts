// How much of the 1,000-row round trip is the copy itself: structured clone serialises on
// the sending thread and deserialises on the receiving one, so the receiving side's share is
// main-thread CPU that no library on top of postMessage can avoid.
import { deserialize, serialize } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { ROWS, rows } from './tasks.ts';
import { median } from './stats.ts';
import type { CloneBreakdown } from './results.ts';

export function cloneBreakdown(reps = 200): CloneBreakdown {
  const ser: number[] = [];
  const de: number[] = [];
  let bytes = 0;
  for (let i = 0; i < reps; i++) {
    const value = rows(ROWS);
    const t0 = performance.now();
    const buf = serialize(value);
    const t1 = performance.now();
    deserialize(buf);
    const t2 = performance.now();
    bytes = buf.length;
    // the first reps warm up the JIT
    if (i >= reps / 4) {
      ser.push((t1 - t0) * 1000);
      de.push((t2 - t1) * 1000);
    }
  }
  return { serializeUs: median(ser), deserializeUs: median(de), bytes };
}
