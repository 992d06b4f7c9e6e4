// The users API's data modes side by side (issue 16 item 3): which one the app should ship.
// `node app-modes.ts [--rounds=9] [--seconds=2]` from bench/: one server process per mode over
// one seeded SQLite file; per round, in rotated order, GET /users/:id alone (10 connections,
// random ids) for each build, then for each build while one more connection loops the heavy
// report. Short slices, many rounds: on a shared machine the load drifts, and a ratio is taken
// between slices seconds apart. Prints each round and the medians of the per-round ratios:
// req/s to the inline build's alone, p99 with the report to the same build's alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DEFAULT_REPORT_COST } from 'users-api/manager';
import { load, randomUser, seed, startServer, stopServer, type Build, type Server } from './src/app/http.ts';
import { scriptOptions } from './src/lib/cli.ts';
import { quantile, sortedCopy } from './src/lib/stats.ts';

const options = scriptOptions(['rounds', 'seconds'], 'node app-modes.ts [--rounds=9] [--seconds=2]\n');
const rounds = options.number('rounds', 9);
const seconds = options.number('seconds', 2);
const builds: Build[] = ['naive', 'smartasync', 'smartasync-auto'];

const dir = mkdtempSync(join(tmpdir(), 'smartasync-app-modes-'));
const url = `sqlite:${join(dir, 'users.db')}`;
const figures = new Map<string, { rps: number[]; ratio: number[]; p99: number[]; p99Ratio: number[] }>();
const record = (key: string, rps: number, ratio: number, p99: number, p99Ratio: number) => {
  const f = figures.get(key) ?? { rps: [], ratio: [], p99: [], p99Ratio: [] };
  f.rps.push(rps);
  f.ratio.push(ratio);
  f.p99.push(p99);
  f.p99Ratio.push(p99Ratio);
  figures.set(key, f);
};
const servers: Server[] = [];
try {
  await seed(url);
  for (const build of builds) servers.push(await startServer(build, url, DEFAULT_REPORT_COST));
  for (const s of servers) {
    await load(s.base, randomUser, 10, 2).done;
    await fetch(`${s.base}/reports/users`).then((r) => r.arrayBuffer());
  }
  for (let round = 0; round < rounds; round++) {
    const k = round % servers.length;
    const alone = new Map<Build, { requestsPerSec: number; p99Ms: number }>();
    const rotated = [...servers.slice(k), ...servers.slice(0, k)];
    for (const s of rotated) alone.set(s.build, await load(s.base, randomUser, 10, seconds).done);
    for (const s of rotated) {
      const report = load(s.base, '/reports/users', 1, seconds + 30);
      await sleep(300);
      const light = await load(s.base, randomUser, 10, seconds).done;
      report.stop();
      await report.done;
      const naive = alone.get('naive')!.requestsPerSec;
      const own = alone.get(s.build)!;
      record(`${s.build} alone`, own.requestsPerSec, own.requestsPerSec / naive, own.p99Ms, 1);
      record(
        `${s.build} with report`,
        light.requestsPerSec,
        light.requestsPerSec / naive,
        light.p99Ms,
        light.p99Ms / own.p99Ms,
      );
      console.log(
        `round ${round + 1} ${s.build}: alone ${own.requestsPerSec.toFixed(0)} req/s (${(own.requestsPerSec / naive).toFixed(2)}x inline), p99 ${own.p99Ms.toFixed(2)} ms; ` +
          `with report ${light.requestsPerSec.toFixed(0)} req/s, p99 ${light.p99Ms.toFixed(2)} ms (${(light.p99Ms / own.p99Ms).toFixed(2)}x alone)`,
      );
    }
  }
} finally {
  await Promise.all(servers.map(stopServer));
  rmSync(dir, { recursive: true, force: true });
}
const med = (xs: number[]) => quantile(sortedCopy(xs), 0.5);
console.log(
  `\nmedians over ${rounds} rounds: req/s, its ratio to inline alone in the same round; p99 ms, its ratio to the build alone`,
);
for (const [key, f] of figures)
  console.log(
    `${key.padEnd(28)} ${med(f.rps).toFixed(0).padStart(7)} req/s ${med(f.ratio).toFixed(2)}x   p99 ${med(f.p99).toFixed(2)} ms ${med(f.p99Ratio).toFixed(2)}x`,
  );
