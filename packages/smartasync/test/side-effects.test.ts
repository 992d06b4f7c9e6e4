// Import side effects: a worker imports the module that registered a function to find it,
// so the module's top-level code runs in every worker; `isWorker` is how a module keeps its
// start-up work (a server, a timer) to the application's own thread.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configure, getPool, isWorker } from 'smartasync';

test('isWorker is false here, true in pool workers and the sync bridge, so a module can guard its start-up work', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-side-effects-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'runs.log');
  process.env.SMARTASYNC_SIDE_EFFECT_LOG = log; // workers copy the environment when they start
  configure({ size: 2, headOfLine: false });
  const { whereAmI, whereAmILater } = await import('./fixtures/side-effects.ts');
  assert.equal(isWorker, false);

  const here = whereAmI.sync(0);
  assert.deepEqual(here, { isWorker: false, threadId: 0 });
  const pool = await Promise.all(Array.from({ length: 8 }, () => whereAmI(20)));
  const bridge = whereAmILater.sync();
  await getPool().close();

  const workerThreads = new Set([...pool, bridge].map((r) => r.threadId));
  for (const r of [...pool, bridge]) {
    assert.equal(r.isWorker, true);
    assert.notEqual(r.threadId, 0);
  }
  // The module ran in every thread that imported it: started here only, skipped on each worker.
  const runs = fs.readFileSync(log, 'utf8').trim().split('\n');
  assert.deepEqual(
    runs.filter((line) => line.startsWith('started')),
    ['started 0'],
  );
  for (const id of workerThreads) assert.ok(runs.includes(`skipped ${id}`), `worker ${id}: ${runs.join(', ')}`);
});
