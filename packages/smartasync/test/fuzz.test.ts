// The engine's promises as invariants, under generated traffic (test/fuzz/): real workers, a
// fixed seed and a time budget here; `npm run fuzz` plays random seeds for longer.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { getPool } from 'smartasync';
import { fuzz } from './fuzz/property.ts';

after(() => getPool().close());

const RUNS = 25;

test('generated scenarios break no invariant of the engine (fixed seed)', { timeout: 120_000 }, async () => {
  // They take 12-16 s here; a run cut short by the time limit is a scenario that hung.
  const played = await fuzz({ seed: 20261204, runs: RUNS, timeLimitMs: 60_000 });
  assert.equal(played, RUNS, `only ${played} of ${RUNS} scenarios finished within 60 s`);
});
