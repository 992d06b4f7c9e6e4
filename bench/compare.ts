// npm run bench:compare -- <git-ref> [options] (--help lists them). Builds smartasync at <git-ref> and from
// the working tree, loads both in one process per job and measures them in alternating blocks: round trip
// (one core and two), throughput (one and two workers), spaced calls, .sync(), main-thread CPU per call, a
// 10 MB string and Buffer (also against structuredClone in the same block), a text stream. Prints, per
// figure, the working tree's value over the ref's: the median of the per-round ratios, their range, and
// whether that range leaves 1.0 out (a difference beyond the noise of this run). --peer adds piscina (its
// two best batching configurations, the better of them per round) and synckit (.sync()) to every job.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildAt } from './src/compare/build.ts';
import { PEERS, type CompareJob, type Metrics } from './src/compare/child.ts';
import { scriptOptions } from './src/lib/cli.ts';
import { hasTaskset, runChild } from './src/lib/proc.ts';
import { median, sortedCopy } from './src/lib/stats.ts';
import { IN_FLIGHT } from './src/plan.ts';

interface JobSpec extends Omit<CompareJob, 'builds' | 'rounds'> {
  readonly name: string;
  /** Run under `taskset -c 0`: caller and workers share one core. */
  readonly pinned?: boolean;
}

const JOBS: readonly JobSpec[] = [
  { name: 'round trip, 1 core', kind: 'roundtrip', size: 1, calls: 4000, pinned: true },
  { name: 'round trip, 2 cores', kind: 'roundtrip', size: 1, calls: 4000 },
  { name: 'throughput, 1 worker', kind: 'throughput', size: 1, calls: 20000, inFlight: IN_FLIGHT },
  { name: 'throughput, 2 workers', kind: 'throughput', size: 2, calls: 20000, inFlight: IN_FLIGHT },
  { name: 'spaced, setImmediate', kind: 'spaced', size: 1, calls: 500, gapMs: 0 },
  { name: 'spaced, 1 ms', kind: 'spaced', size: 1, calls: 300, gapMs: 1 },
  { name: '.sync() of an async body', kind: 'sync', size: 1, calls: 4000 },
  { name: '10 MB argument and result', kind: 'large', size: 1, calls: 3 },
  { name: 'stream of text, 64 MB', kind: 'stream', size: 1, calls: 4000 },
];

/** Figures where more is better; the rest are times. */
const HIGHER_IS_BETTER = new Set(['calls_per_s']);

const args = scriptOptions(
  ['rounds', 'only'],
  `npm run bench:compare -- <git-ref> [options]     (node bench/compare.ts <git-ref> [options])
  --rounds=10          rounds per job (each build measured once a round, in alternation); at least 2
  --only=a,b           only the jobs whose name contains one of these
  --peer               also piscina (its better batching configuration per round) and synckit
`,
  { flags: ['peer'], positionals: true },
);
const [ref] = args.positionals;
if (!ref) args.fail('a git ref to compare with is required');
const rounds = args.number('rounds', 10);
if (!Number.isInteger(rounds) || rounds < 2) args.fail('--rounds must be a whole number ≥ 2');
const only = args.get('only')?.split(',');
const withPeer = args.flag('peer');
const jobs = only ? JOBS.filter((j) => only.some((o) => j.name.includes(o))) : JOBS;
const work = mkdtempSync(join(tmpdir(), 'smartasync-compare-'));
const pinning = hasTaskset();
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

try {
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const child = new URL('./src/compare/child.ts', import.meta.url);
  const base = await buildAt(repo, ref, join(work, 'ref'), 'ref');
  const tree = await buildAt(repo, undefined, join(work, 'tree'), 'tree');
  console.log(`bench:compare: ${tree.label} (${tree.commit}) over ${base.label} (${base.commit}), ${rounds} rounds`);
  if (!pinning) console.log('taskset is not available: the "1 core" jobs run unpinned');
  console.log(
    'ratio = working tree / ref, median of the per-round ratios; range: the per-round ratios less the extreme tenth at each end;\n' +
      '"beyond noise": that range leaves 1.0 out and the ratio is off 1.0 by 2% or more\n',
  );
  const rows: string[][] = [
    ['job', 'figure', 'ref', 'tree', 'ratio', 'range', 'verdict', ...(withPeer ? ['tree/peer'] : [])],
  ];
  let worse = 0;
  for (const spec of jobs) {
    const { name, pinned, ...job } = spec;
    // The peers stream nothing of the kind: the stream job compares the builds alone.
    const withPeers = withPeer && job.kind !== 'stream';
    const builds = withPeers ? [base.dir, tree.dir, ...Object.keys(PEERS)] : [base.dir, tree.dir];
    const measured = await runChild<Metrics[][]>(child, 'runJob', { ...job, rounds, builds } satisfies CompareJob, {
      pinned: pinned && pinning,
      timeoutMs: 600_000,
      log: (line) => void process.stderr.write(line + '\n'),
    }).catch((err: Error) => err);
    // An older ref may lack what a job measures (streams, say): say so, and go on.
    if (measured instanceof Error) {
      rows.push([name, `failed: ${measured.message.split(/\n| \| /)[0]}`]);
      continue;
    }
    const [a, b, ...peers] = measured;
    for (const metric of Object.keys(a![0]!)) {
      const av = a!.map((m) => m[metric]!);
      const bv = b!.map((m) => m[metric]!);
      const best = HIGHER_IS_BETTER.has(metric) ? Math.max : Math.min;
      const peer = (i: number) => best(...peers.map((p) => p[i]![metric]!));
      const peerRatio = peers.length > 0 ? median(sortedCopy(bv.map((v, i) => v / peer(i)))) : undefined;
      const ratios = sortedCopy(bv.map((v, i) => v / av[i]!));
      // Leave out the most extreme tenth of the rounds at each end: one odd round is not a verdict.
      const cut = Math.floor(ratios.length / 10);
      const [lo, hi, higher] = [ratios[cut]!, ratios[ratios.length - 1 - cut]!, HIGHER_IS_BETTER.has(metric)];
      // A shift under 2% is not called, however steady: builds of one commit differ that much by layout alone.
      const shifted = Math.abs(median(ratios) - 1) >= 0.02;
      const better = shifted && (higher ? lo > 1 : hi < 1);
      const poorer = shifted && (higher ? hi < 1 : lo > 1);
      if (poorer) worse++;
      const verdict = better ? 'better, beyond noise' : poorer ? 'WORSE, beyond noise' : 'within noise';
      const [refCell, treeCell, ratio] = [fmt(median(av)), fmt(median(bv)), `${median(ratios).toFixed(3)}x`];
      const peerCell = peerRatio === undefined ? [] : [`${peerRatio.toFixed(3)}x`];
      rows.push([name, metric, refCell, treeCell, ratio, `${lo.toFixed(2)}-${hi.toFixed(2)}`, verdict, ...peerCell]);
    }
  }
  // Rows of a job the peers do not run (the stream) have no peer column.
  const widths = rows[0]!.map((_, c) => Math.max(...rows.filter((r) => r.length > 2).map((r) => r[c]?.length ?? 0)));
  const line = (r: string[]) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ');
  for (const r of rows) console.log(line(r).trimEnd());
  console.log(`\n${worse} figure(s) worse beyond noise`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
