// npm run fuzz [-- --minutes=N --seed=S --path=P]: plays generated scenarios against real
// workers with random seeds until the time is up, and prints each seed; a failure prints its
// seed, path and shrunk scenario: `--seed=S --path=P` replays that scenario alone.
import { parseArgs } from 'node:util';
import { getPool } from 'smartasync';
import { fuzz } from '../test/fuzz/property.ts';

const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '5' }, seed: { type: 'string' }, path: { type: 'string' } },
});
const until = Date.now() + Number(values.minutes) * 60_000;
let scenarios = 0;
let seeds = 0;
let failed = false;
try {
  do {
    const seed = values.seed ? Number(values.seed) : (Math.random() * 2 ** 31) | 0;
    console.log(`seed ${seed}: playing`);
    const played = await fuzz({
      seed,
      path: values.path,
      runs: 1_000,
      timeLimitMs: Math.max(1_000, until - Date.now()),
      onPlayed: () => void scenarios++,
    });
    seeds++;
    console.log(`seed ${seed}: ${played} scenarios, no violation`);
  } while (Date.now() < until && !values.seed);
  console.log(`fuzz: ${scenarios} scenarios over ${seeds} seed(s), no violation`);
} catch (err) {
  failed = true;
  console.error(err);
}
// A pool that does not close is a finding too (a worker owes a reply): say so rather than hang.
const closed = await Promise.race([
  getPool()
    .close()
    .then(() => true),
  new Promise<false>((r) => setTimeout(() => r(false), 10_000).unref()),
]);
if (!closed) console.error('fuzz: the pool did not close within 10 s: a worker still owes a reply.');
process.exit(failed || !closed ? 1 : 0);
