// The users API's data modes side by side (issue 16 item 3): which one the app should ship.
// `node app-modes.ts [--rounds=9] [--seconds=2]` from bench/: one server process per mode over
// one seeded SQLite file; per round, in rotated order, GET /users/:id alone (10 connections,
// random ids) for each build, then for each build while one more connection loops the heavy
// report. Short slices, many rounds: on a shared machine the load drifts, and a ratio is taken
// between slices seconds apart. Prints each round and the medians of the per-round ratios:
// req/s to the inline build's alone, p99 with the report to the same build's alone.
import { DEFAULT_REPORT_COST } from 'users-api/manager';
import { load, randomUser, rotated, warmUp, withReport, withServers, type Build } from './src/app/http.ts';
import { scriptOptions } from './src/lib/cli.ts';
import { median } from './src/lib/stats.ts';

const options = scriptOptions(['rounds', 'seconds'], 'node app-modes.ts [--rounds=9] [--seconds=2]\n');
const rounds = options.number('rounds', 9);
const seconds = options.number('seconds', 2);

type Figures = { rps: number[]; ratio: number[]; p99: number[]; p99Ratio: number[] };
const figures = new Map<string, Figures>();
const record = (key: string, ...xs: number[]) => {
  const f = figures.get(key) ?? figures.set(key, { rps: [], ratio: [], p99: [], p99Ratio: [] }).get(key)!;
  Object.values(f).forEach((list, k) => list.push(xs[k]!));
};
await withServers(['naive', 'smartasync', 'smartasync-auto'], DEFAULT_REPORT_COST, async (servers, errors) => {
  if (errors.length) throw new Error(errors.map((e) => `${e.build}: ${e.error}`).join('; '));
  await warmUp(servers, 10, 2);
  const light = (base: string) => load(base, randomUser, 10, seconds).done;
  for (let round = 0; round < rounds; round++) {
    const alone = new Map<Build, { requestsPerSec: number; p99Ms: number }>();
    for (const s of rotated(servers, round)) alone.set(s.build, await light(s.base));
    for (const s of rotated(servers, round)) {
      const both = await withReport(s, 1, 300, () => light(s.base));
      await both.report;
      const naive = alone.get('naive')!.requestsPerSec;
      const own = alone.get(s.build)!;
      record(`${s.build} alone`, own.requestsPerSec, own.requestsPerSec / naive, own.p99Ms, 1);
      const [rps, p99] = [both.light.requestsPerSec, both.light.p99Ms];
      record(`${s.build} with report`, rps, rps / naive, p99, p99 / own.p99Ms);
      console.log(
        `round ${round + 1} ${s.build}: alone ${own.requestsPerSec.toFixed(0)} req/s (${(own.requestsPerSec / naive).toFixed(2)}x inline), p99 ${own.p99Ms.toFixed(2)} ms; ` +
          `with report ${rps.toFixed(0)} req/s, p99 ${p99.toFixed(2)} ms (${(p99 / own.p99Ms).toFixed(2)}x alone)`,
      );
    }
  }
});
console.log(
  `\nmedians over ${rounds} rounds: req/s, its ratio to inline alone in the same round; p99 ms, its ratio to the build alone`,
);
for (const [key, f] of figures)
  console.log(
    `${key.padEnd(28)} ${median(f.rps).toFixed(0).padStart(7)} req/s ${median(f.ratio).toFixed(2)}x   p99 ${median(f.p99).toFixed(2)} ms ${median(f.p99Ratio).toFixed(2)}x`,
  );
