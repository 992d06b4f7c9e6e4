// Latency of calls spaced in time, as a server making one call per request sees it. These
// bounds are behavioural, not speed targets: a spaced call that waits out a worker's idle
// block (20 ms) or any timer is a bug, whatever the machine (the figures live in the bench).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { configure, getPool } from 'smartasync';
import { whereSync, busyWait } from './fixtures/basic.ts';

before(async () => {
  await getPool().close();
  configure({ size: 1 });
});
after(() => getPool().close());

const gaps: Record<string, () => Promise<unknown>> = {
  setImmediate: () => new Promise((r) => setImmediate(r)),
  '1 ms timer': () => new Promise((r) => setTimeout(r, 1)),
  '10 ms timer': () => new Promise((r) => setTimeout(r, 10)),
};

test('spaced calls never wait for a sleeping worker, after the states that used to strand a reply', async () => {
  // The states that used to strand a reply: calls that queued behind the worker's first
  // import of their module, then calls long enough that the worker blocks between them.
  await Promise.all(Array.from({ length: 8 }, (_, i) => whereSync(`burst ${i}`)));
  for (let i = 0; i < 5; i++) await busyWait(3);

  const slow: string[] = [];
  let calls = 0;
  for (const [name, gap] of Object.entries(gaps)) {
    for (let i = 0; i < 100; i++) {
      await gap();
      const started = performance.now();
      await whereSync('spaced');
      const ms = performance.now() - started;
      calls++;
      if (ms > 5) slow.push(`${name}: ${ms.toFixed(1)} ms`);
    }
  }
  assert.equal(calls, 300);
  assert.ok(
    slow.length <= 3,
    `${slow.length} of 300 spaced calls over 5 ms (at most 1% allowed): ${slow.slice(0, 10).join(', ')}`,
  );
});
