// node bench/soak.ts [--minutes=10]: smartasync against piscina under a long mixed load, half
// the calls throwing (issue 8, item 5). Results in bench/results/soak.{md,json,svg}.
import { resolve } from 'node:path';
import { DEFAULT_OUT } from './src/runner.ts';
import { CANDIDATES, runSoak, soakVerdicts } from './src/soak/run.ts';

const USAGE = `node bench/soak.ts [options]
  --minutes=10         how long each candidate runs (default 10)
  --seconds=N          the same in seconds (for short checks)
  --concurrency=64     calls kept in flight
  --workers=2          pool size
  --only=a,b           smartasync, piscina (default: both)
  --out=dir            where to write soak.{md,json,svg} (default bench/results)
`;

const args = new Map(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k!, v ?? 'true'] as const;
  }),
);
const known = new Set(['minutes', 'seconds', 'concurrency', 'workers', 'only', 'out', 'help']);
const unknown = [...args.keys()].filter((k) => !known.has(k));
if (args.has('help') || unknown.length) {
  process.stderr.write((unknown.length ? `unknown option(s): ${unknown.join(', ')}\n` : '') + USAGE);
  process.exit(unknown.length ? 2 : 0);
}
const number = (k: string, d: number): number => {
  const v = Number(args.get(k) ?? d);
  if (!(v > 0) || !Number.isFinite(v)) {
    process.stderr.write(`--${k} must be a positive number\n${USAGE}`);
    process.exit(2);
  }
  return v;
};
const only = (args.get('only')?.split(',') ?? [...CANDIDATES]) as (typeof CANDIDATES)[number][];
const bad = only.filter((c) => !(CANDIDATES as readonly string[]).includes(c));
if (bad.length) {
  process.stderr.write(`unknown candidate(s): ${bad.join(', ')}; choose among ${CANDIDATES.join(', ')}\n`);
  process.exit(2);
}
const out = args.has('out') ? resolve(args.get('out')!) : DEFAULT_OUT;
const r = await runSoak({
  seconds: args.has('seconds') ? number('seconds', 60) : number('minutes', 10) * 60,
  concurrency: Math.round(number('concurrency', 64)),
  workers: Math.round(number('workers', 2)),
  only,
  out,
  command: `node bench/soak.ts ${process.argv.slice(2).join(' ')}`.trim(),
  log: (line) => process.stderr.write(`${line}\n`),
});
for (const v of soakVerdicts(r))
  process.stderr.write(`${v.met ? 'met' : 'MISSED'}: ${v.target}: ${v.value} (required ${v.required})\n`);
process.stderr.write(`wrote ${out}/soak.{md,json,svg}\n`);
process.exit(r.runs.some((x) => x.error) ? 1 : 0);
