// Warm start: workers started, modules loaded and replicas built before the first call.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configure, getPool } from 'smartasync';
import { SmartStamped, whereSync } from './fixtures/basic.ts';

configure({ size: 2 });
after(() => getPool().close());

test('warm() starts every worker and builds each replica before the first call', async () => {
  const stamped = new SmartStamped();
  assert.equal(getPool().stats().workers, 0, 'nothing started yet');
  await getPool().warm(stamped);
  const warmedAt = Date.now();
  assert.equal(getPool().stats().workers, 3, 'both workers and the express worker');
  await new Promise((r) => setTimeout(r, 50));
  // Calls on both workers: each finds its replica already built, during warm().
  const seen = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? whereSync('spread') : stamped.info())));
  const infos = seen.filter((x): x is { builtAt: number; builtOn: number; threadId: number } => 'builtAt' in x);
  assert.ok(infos.length > 0);
  for (const info of infos) {
    assert.equal(info.builtOn, info.threadId, 'a replica of its own worker');
    assert.ok(
      info.builtAt <= warmedAt,
      `replica on worker ${info.threadId} built ${info.builtAt - warmedAt} ms after warm() resolved`,
    );
  }
  assert.equal(getPool().stats().completed, 40, 'warm-up requests are not counted as calls');
});

test('warm() refuses values that are not wrapped instances', async () => {
  await assert.rejects(
    getPool().warm({}),
    /warm\(\) expects instances of smartasync\(Class\) or @offloadable classes; argument 0/,
  );
});

test('warm() reports a registered module that cannot load in a worker, at start-up', () => {
  const script = fileURLToPath(new URL('./fixtures/warm-hostile.ts', import.meta.url));
  const r = JSON.parse(execFileSync(process.execPath, [script], { encoding: 'utf8', timeout: 20_000 })) as {
    name: string;
    code: string;
    message: string;
  };
  assert.equal(r.name, 'RegistrationError');
  assert.equal(r.code, 'ERR_SMARTASYNC_REGISTRATION');
  assert.match(r.message, /could not import .*worker-hostile\.ts to find unreachable\(\)/);
  assert.match(r.message, /this module refuses to load in a worker/);
});
