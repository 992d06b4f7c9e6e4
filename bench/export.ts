// node bench/export.ts [--rows=1000000]: the streamed export against .all() and a manual
// piscina build (issue 11). Results in bench/results/export.{md,json}.
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { makeDatabase, runExport, writeResults } from './src/export/run.ts';
import { CANDIDATES } from './src/export/types.ts';
import { DEFAULT_OUT } from './src/runner.ts';
import { scriptOptions } from './src/script-options.ts';

const USAGE = `node bench/export.ts [options]
  --rows=1000000       users in the table
  --rounds=3           runs per candidate, interleaved (medians)
  --light-seconds=3    light load alone before each export
  --only=a,b           stream, all, piscina (default: all three)
  --out=dir            where to write export.{md,json} (default bench/results)
`;
const args = scriptOptions(process.argv.slice(2), ['rows', 'rounds', 'light-seconds', 'only', 'out'], USAGE);
const only = args.only(CANDIDATES.map((c) => c.id));
const rows = Math.round(args.number('rows', 1_000_000));
const out = resolve(args.get('out') ?? DEFAULT_OUT);
const dir = mkdtempSync(join(tmpdir(), 'bench-export-'));
try {
  const dbPath = join(dir, 'users.db');
  process.stderr.write(`writing ${rows.toLocaleString('en')} users...\n`);
  await makeDatabase(dbPath, rows);
  const options = {
    rows,
    rounds: Math.round(args.number('rounds', 3)),
    lightSeconds: args.number('light-seconds', 3),
    only,
    dbPath,
  };
  const meta = {
    command: `node bench/export.ts ${process.argv.slice(2).join(' ')}`.trim(),
    date: new Date().toISOString().slice(0, 10),
    node: process.version,
    cpus: `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'unknown'}`,
    loadavg: loadavg()
      .map((l) => l.toFixed(2))
      .join(' '),
    commit: (() => {
      try {
        return execSync('git rev-parse --short HEAD', { encoding: 'utf8' }).trim();
      } catch {
        return 'unknown';
      }
    })(),
  };
  const runs = await runExport(options);
  const { checks } = writeResults(out, options, runs, meta);
  for (const v of checks)
    process.stderr.write(`${v.met ? 'met' : 'MISSED'}: ${v.target}: ${v.measured} (${v.required})\n`);
  process.stderr.write(`wrote ${join(out, 'export.md')}\n`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
