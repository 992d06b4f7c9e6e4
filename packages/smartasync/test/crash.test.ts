// Exact crash accounting. When a worker dies among hundreds of calls in flight, every call ends
// exactly one way: a reply the worker wrote is delivered; a call it never started runs on
// another worker; only a call that started and did not finish rejects, with a
// WorkerCrashedError whose `started` is true. A side-effect log shows what really ran.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configure, getPool, WorkerCrashedError, type PoolOptions } from 'smartasync';
import { logCall, dieHow } from './fixtures/basic.ts';

after(() => getPool().close());

async function freshPool(options: PoolOptions): Promise<void> {
  await getPool().close();
  configure(options);
}

/** Fires `calls` logged calls with a deadly call among them, and accounts for every one. */
async function crashAmongCalls(how: 'exit' | 'throw-later' | 'oom', calls = 300) {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-crash-')), 'log');
  fs.writeFileSync(file, '');
  await Promise.all([logCall(file, -1), logCall(file, -2)]); // both workers up, module loaded
  const crashedBefore = getPool().stats().crashedWorkers;
  const pending: Promise<unknown>[] = [];
  let deadly: Promise<PromiseSettledResult<unknown>[]> | undefined;
  for (let id = 0; id < calls; id++) {
    if (id === calls / 3) deadly = Promise.allSettled([dieHow(how)]);
    pending.push(logCall(file, id));
  }
  const outcomes = await Promise.allSettled(pending);
  const deadlyOutcome = (await deadly!)[0]!;
  // A throw from a timer may end the worker after every call above has settled.
  for (let waited = 0; getPool().stats().crashedWorkers === crashedBefore && waited < 5_000; waited += 10) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const ran = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((id) => id >= 0);
  fs.rmSync(path.dirname(file), { recursive: true, force: true });
  return { outcomes, deadlyOutcome, ran, crashes: getPool().stats().crashedWorkers - crashedBefore };
}

function assertExact(outcomes: PromiseSettledResult<unknown>[], ran: number[]): void {
  const rejected = outcomes.filter((o) => o.status === 'rejected');
  assert.deepEqual(
    rejected.map((o) => String((o as PromiseRejectedResult).reason)),
    [],
    'no call that ran, or never started, is reported lost',
  );
  const counts = new Map<number, number>();
  for (const id of ran) counts.set(id, (counts.get(id) ?? 0) + 1);
  assert.deepEqual(
    [...counts].filter(([, n]) => n > 1),
    [],
    'no call ran twice',
  );
  assert.equal(counts.size, outcomes.length, 'every call ran exactly once');
  outcomes.forEach((o, id) => assert.deepEqual(o, { status: 'fulfilled', value: id }));
}

test('process.exit among 300 calls: only the exiting call fails, and it says it started', async () => {
  await freshPool({ size: 2 });
  const { outcomes, deadlyOutcome, ran, crashes } = await crashAmongCalls('exit');
  assertExact(outcomes, ran);
  assert.equal(deadlyOutcome.status, 'rejected');
  const err = (deadlyOutcome as PromiseRejectedResult).reason as WorkerCrashedError;
  assert.ok(err instanceof WorkerCrashedError);
  assert.equal(err.started, true);
  assert.match(err.message, /dieHow\(\) started but did not finish: its worker thread exited with code 3/);
  assert.equal(crashes, 1);
});

test('an error thrown from a timer after a call returned: that call succeeds, nothing is lost', async () => {
  await freshPool({ size: 2 });
  const { outcomes, deadlyOutcome, ran, crashes } = await crashAmongCalls('throw-later');
  assertExact(outcomes, ran);
  assert.deepEqual(
    deadlyOutcome,
    { status: 'fulfilled', value: 'returned' },
    'its reply was written before the worker died',
  );
  assert.equal(crashes, 1);
});

test('a worker out of memory among 300 calls: only the call that ran it out fails', async () => {
  await freshPool({ size: 2, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 4 } });
  const { outcomes, deadlyOutcome, ran, crashes } = await crashAmongCalls('oom');
  assertExact(outcomes, ran);
  assert.equal(deadlyOutcome.status, 'rejected');
  assert.equal(((deadlyOutcome as PromiseRejectedResult).reason as WorkerCrashedError).started, true);
  assert.equal(crashes, 1);
});

test('crash accounting holds round after round', async () => {
  await freshPool({ size: 2 });
  for (const how of ['exit', 'throw-later', 'exit', 'throw-later', 'exit'] as const) {
    const { outcomes, ran } = await crashAmongCalls(how, 150);
    assertExact(outcomes, ran);
  }
});
