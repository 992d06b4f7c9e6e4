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
} finally {
  await getPool().close();
}
