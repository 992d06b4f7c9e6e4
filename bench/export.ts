// node bench/export.ts [--rows=1000000]: the streamed export against .all() and a manual piscina build
// (issue 11). Results in bench/results/export.{md,json}.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CANDIDATES, makeDatabase, runExport, writeResults } from './src/export/run.ts';
import { scriptOptions } from './src/lib/cli.ts';
import { runMeta } from './src/lib/proc.ts';

const args = scriptOptions(
  ['rows', 'rounds', 'light-seconds', 'only', 'out'],
  `node bench/export.ts [options]
  --rows=1000000       users in the table
  --rounds=3           runs per candidate, interleaved (medians)
  --light-seconds=3    light load alone before each export
  --only=a,b           stream, stream-nice0, all, piscina (default: all four)
  --out=dir            where to write export.{md,json} (default bench/results)
`,
);
const rows = Math.round(args.number('rows', 1_000_000));
const out = resolve(args.get('out') ?? new URL('./results', import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), 'bench-export-'));
try {
  const dbPath = join(dir, 'users.db');
  process.stderr.write(`writing ${rows.toLocaleString('en')} users...\n`);
  await makeDatabase(dbPath, rows);
  const only = args.only(CANDIDATES.map((c) => c.id));
  const [rounds, lightSeconds] = [Math.round(args.number('rounds', 3)), args.number('light-seconds', 3)];
  const options = { rows, rounds, lightSeconds, only, dbPath };
  const meta = runMeta(`node bench/export.ts ${process.argv.slice(2).join(' ')}`.trim());
  const { checks } = writeResults(out, options, await runExport(options), meta);
  for (const v of checks)
    process.stderr.write(`${v.met ? 'met' : 'MISSED'}: ${v.target}: ${v.measured} (${v.required})\n`);
  process.stderr.write(`wrote ${join(out, 'export.md')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
