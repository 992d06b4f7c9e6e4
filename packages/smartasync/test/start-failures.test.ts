// A worker that cannot start (issue 18): the calls waiting for it fail with its real error, the
// pool stops starting workers that die the same way (a back-off, not a loop), new calls fail at
// once meanwhile, and the first start that works ends it. Before: calls hung for ever while the
// pool replaced dying workers without end (41 in 2 s).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { configure, getPool, RegistrationError, WorkerStartError, type PoolOptions } from 'smartasync';
import { short0 } from './fixtures/fuzz-target.ts';

after(() => getPool().close());

/** Workers the process creates while `run` runs (Node's own worker_threads channel). */
async function countingWorkers<T>(run: () => Promise<T>): Promise<{ result: T; workers: number }> {
  let workers = 0;
  const count = () => void workers++;
  dc.subscribe('worker_threads', count);
  try {
    return { result: await run(), workers };
  } finally {
    dc.unsubscribe('worker_threads', count);
  }
}

async function freshPool(options: PoolOptions): Promise<void> {
  await getPool().close();
  configure(options);
}

const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-start-')), 'log');
fs.writeFileSync(log, '');

function preload(source: string): string[] {
  return ['--import', `data:text/javascript,${encodeURIComponent(source)}`];
}

test('a preload that throws in workers: calls fail at once with its error, and no worker is started in a loop', async () => {
  await freshPool({ execArgv: preload('throw new Error("preload boom")') });
  const { result, workers } = await countingWorkers(async () => {
    const started = performance.now();
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => short0(log, i, 0)));
    const firstMs = performance.now() - started;
    await sleep(1_500); // a respawn loop would start dozens of workers here
    return { outcomes, firstMs, again: await short0(log, 9, 0).catch((err: unknown) => err) };
  });
  for (const outcome of result.outcomes) {
    assert.equal(outcome.status, 'rejected');
    const err = (outcome as PromiseRejectedResult).reason as WorkerStartError;
    assert.ok(err instanceof WorkerStartError, String(err));
    assert.equal(err.code, 'ERR_SMARTASYNC_WORKER_START');
    assert.match(
      err.message,
      /^short0\(\) could not run: a smartasync worker thread failed to start: Error: preload boom \(at data:text\/javascript/,
    );
    assert.equal((err.cause as Error).message, 'preload boom');
  }
  assert.ok(result.firstMs < 5_000, `the calls failed after ${result.firstMs.toFixed(0)} ms`);
  assert.ok(result.again instanceof WorkerStartError, 'still failing: the preload still throws');
  // One start per back-off step (100, 200, 400, 800 ms) at most, not one per crash.
  assert.ok(workers <= 6, `${workers} workers were started in 1.5 s`);
  assert.equal(getPool().stats().crashedWorkers, 0, 'a failed start is not a crash');
});

test('an option a worker cannot take fails the call at once, naming it', async () => {
  await freshPool({ execArgv: ['--title=x'] });
  await assert.rejects(short0(log, 1, 0), (err: WorkerStartError) => {
    assert.ok(err instanceof WorkerStartError);
    assert.match(err.message, /invalid execArgv flags: --title=x/);
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ERR_WORKER_INVALID_EXEC_ARGV');
    return true;
  });
});

test('a worker out of memory before it could start: the calls fail with that error', async () => {
  const hog = 'globalThis.keep = []; for (let i = 0; i < 3e6; i++) globalThis.keep.push({ i });';
  await freshPool({ resourceLimits: { maxOldGenerationSizeMb: 16 }, execArgv: preload(hog) });
  await assert.rejects(short0(log, 1, 0), (err: WorkerStartError) => {
    assert.ok(err instanceof WorkerStartError, String(err));
    assert.equal((err.cause as NodeJS.ErrnoException).code, 'ERR_WORKER_OUT_OF_MEMORY');
    return true;
  });
});

test('a module that throws when a worker imports it fails the call with that error', async () => {
  const dir = path.join(import.meta.dirname, 'fixtures', '.tmp');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `throws-in-workers-${process.pid}.ts`);
  fs.writeFileSync(
    file,
    [
      "import { isMainThread } from 'node:worker_threads';",
      "import { smartasync } from 'smartasync';",
      "if (!isMainThread) throw new Error('no database in this thread');",
      'export const lookup = smartasync(function lookup(id: number) { return id; });',
    ].join('\n'),
  );
  await freshPool({});
  const { lookup } = (await import(file)) as { lookup: (id: number) => Promise<number> };
  await assert.rejects(lookup(1), (err: RegistrationError) => {
    assert.ok(err instanceof RegistrationError);
    assert.match(
      err.message,
      /a worker could not import .*throws-in-workers.* to find lookup\(\).*no database in this thread/,
    );
    return true;
  });
  assert.equal(await short0(log, 2, 0), 2, 'the pool itself is fine');
  fs.rmSync(file);
});

test('once a start succeeds again, calls run', async () => {
  // The preload fails while a flag file exists; the test removes it after the first failure.
  const flag = path.join(path.dirname(log), 'failing');
  fs.writeFileSync(flag, '');
  const source = `import fs from 'node:fs'; if (fs.existsSync(${JSON.stringify(flag)})) throw new Error('not yet');`;
  await freshPool({ execArgv: preload(source) });
  await assert.rejects(short0(log, 1, 0), WorkerStartError);
  fs.rmSync(flag);
  await assert.rejects(short0(log, 2, 0), WorkerStartError, 'within the back-off, calls fail at once');
  await sleep(300);
  assert.equal(await short0(log, 3, 0), 3, 'after it, a worker starts and the call runs');
});
