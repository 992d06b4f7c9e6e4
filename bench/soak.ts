// node bench/soak.ts [--minutes=10]: smartasync against piscina under a long mixed load, half the calls
// throwing (issue 8, item 5). Results in bench/results/soak.{md,json,svg}.
import { resolve } from 'node:path';
import { scriptOptions } from './src/lib/cli.ts';
import { CANDIDATES, runSoak, soakVerdicts } from './src/soak/run.ts';

const args = scriptOptions(
  ['minutes', 'seconds', 'concurrency', 'workers', 'only', 'out'],
  `node bench/soak.ts [options]
  --minutes=10         how long each candidate runs (default 10)
  --seconds=N          the same in seconds (for short checks)
  --concurrency=64     calls kept in flight
  --workers=2          pool size
  --only=a,b           smartasync, piscina (default: both)
  --out=dir            where to write soak.{md,json,svg} (default bench/results)
`,
);
const out = resolve(args.get('out') ?? new URL('./results', import.meta.url).pathname);
const r = await runSoak({
  seconds: args.get('seconds') ? args.number('seconds', 60) : args.number('minutes', 10) * 60,
  concurrency: Math.round(args.number('concurrency', 64)),
  workers: Math.round(args.number('workers', 2)),
  only: args.only(CANDIDATES),
  out,
  command: `node bench/soak.ts ${process.argv.slice(2).join(' ')}`.trim(),
  log: (line) => process.stderr.write(`${line}\n`),
});
for (const v of soakVerdicts(r))
  process.stderr.write(`${v.met ? 'met' : 'MISSED'}: ${v.target}: ${v.value} (required ${v.required})\n`);
process.stderr.write(`wrote ${out}/soak.{md,json,svg}\n`);
process.exit(r.runs.some((x) => x.error) ? 1 : 0);
