// The engine's promises as invariants, under generated traffic (test/fuzz/): real workers, a
// fixed seed and a time budget here; `npm run fuzz` plays random seeds for longer.
import { test, after } from 'node:test';
import { getPool } from 'smartasync';
import { fuzz } from './fuzz/property.ts';

after(() => getPool().close());

test('generated scenarios break no invariant of the engine (fixed seed)', { timeout: 120_000 }, async () => {
  await fuzz({ seed: 20261204, runs: 25, timeLimitMs: 60_000 });
});
