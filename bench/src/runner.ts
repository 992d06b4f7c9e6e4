// The parent process: plans the jobs, runs each in its own child (pinned or not), profiles
// the subject where asked, runs the application benchmark, then writes results/.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { plan, PARAMS, type Size } from './plan.ts';
import { hasTaskset, runChild } from './spawn.ts';
import { summarise } from './profile.ts';
import { writeReport } from './report/write.ts';
import { cpuTicks } from './threads.ts';
import type { Job, JobResult, Mode, Section } from './job.ts';
import type { ProfileResult, Results } from './results.ts';
import { TRAFFIC_PARTS, type TrafficPart } from './traffic/run.ts';

const ALL_SECTIONS: Section[] = ['roundtrip', 'throughput', 'payload', 'sync'];
// Run in the parent (they spawn their own processes), after the job sections.
const EXTRA_SECTIONS = ['app', 'traffic'];
const here = fileURLToPath(new URL('.', import.meta.url));
export const DEFAULT_OUT = resolve(here, '../results');

export interface RunOptions {
  size: Size;
  sections: Section[];
  app: boolean;
  /** the parts of the traffic section to run; empty = not run */
  traffic: TrafficPart[];
  modes: Mode[];
  workers: number[];
  only?: string[];
  adapters: string[];
  profile: boolean;
  out: string;
  command: string;
  log: (m: string) => void;
}

export function parseCli(argv: string[]): RunOptions | { reportOnly: string } {
  const { values } = parseArgs({
    args: argv,
    // --no-pin, --no-profile
    allowNegative: true,
    options: {
      quick: { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      sections: { type: 'string' },
      only: { type: 'string' },
      adapter: { type: 'string', multiple: true, default: [] },
      out: { type: 'string' },
      pin: { type: 'boolean', default: true },
      'pinned-only': { type: 'boolean', default: false },
      workers: { type: 'string' },
      traffic: { type: 'string' },
      profile: { type: 'boolean' },
      'report-only': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const out = resolve(values.out ?? DEFAULT_OUT);
  if (values['report-only']) return { reportOnly: out };
  const size: Size = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const requested = values.sections?.split(',').map((s) => s.trim()) ?? [...ALL_SECTIONS, ...EXTRA_SECTIONS];
  for (const s of requested)
    if (![...ALL_SECTIONS, ...EXTRA_SECTIONS].includes(s)) throw new Error(`unknown section ${s}`);
  const parts = (values.traffic?.split(',').map((s) => s.trim()) ?? [...TRAFFIC_PARTS]) as TrafficPart[];
  for (const s of parts)
    if (!TRAFFIC_PARTS.includes(s)) throw new Error(`unknown traffic part ${s} (one of ${TRAFFIC_PARTS.join(', ')})`);
  let modes: Mode[] = ['unpinned', 'pinned'];
  if (!values.pin) modes = ['unpinned'];
  if (values['pinned-only']) modes = ['pinned'];
  if (!hasTaskset()) modes = modes.filter((m) => m !== 'pinned');
  return {
    size,
    sections: ALL_SECTIONS.filter((s) => requested.includes(s)),
    app: requested.includes('app'),
    traffic: requested.includes('traffic') ? parts : [],
    modes: modes.length ? modes : ['unpinned'],
    workers: values.workers ? values.workers.split(',').map(Number) : [1, 2],
    only: values.only?.split(',').map((s) => s.trim()),
    adapters: values.adapter,
    // Profiles explain misses; they cost a few seconds, so quick runs skip them unless asked.
    profile: values.profile ?? size === 'full',
    out,
    command: `node bench/run.ts ${argv.join(' ')}`.trim(),
    log: (m) => process.stderr.write(m + '\n'),
  };
}

const HELP = `npm run bench [-- options]     (node bench/run.ts [options])

  --quick              short blocks and few rounds: under two minutes
  --smoke              tiny counts; proves the pipeline, figures meaningless
  --sections=a,b       any of roundtrip,throughput,payload,sync,app,traffic (default: all)
  --traffic=a,b        parts of the traffic section: spaced,openloop,mixed,idle,app (default: all)
  --only=id,lib        only these candidates (ids or library names)
  --adapter=path.ts    load one more adapter module (repeatable)
  --workers=1,2        pool sizes for the throughput comparison
  --no-pin             skip the taskset -c 0 runs;  --pinned-only  skip the unpinned ones
  --profile / --no-profile   CPU-profile smartasync (default: on for full runs)
  --out=dir            where to write results (default bench/results)
  --report-only        rebuild results.md and the charts from an existing results.json
`;

export function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: here, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

export function smartasyncVersion(): string | null {
  try {
    const p = createRequire(import.meta.url).resolve('smartasync/package.json');
    return (JSON.parse(readFileSync(p, 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

// A fingerprint of the smartasync build, taken before and after the run: a rebuild in the
// middle (easy while the library is being worked on) would mix two versions in one report.
export function subjectBuild(): string | null {
  try {
    const req = createRequire(import.meta.url);
    const entry = req.resolve('smartasync');
    const h = createHash('sha1');
    for (const f of readdirSync(dirname(entry))
      .filter((f) => f.endsWith('.js'))
      .sort())
      h.update(readFileSync(join(dirname(entry), f)));
    return h.digest('hex').slice(0, 12);
  } catch {
    return null;
  }
}

function timeoutFor(job: Job): number {
  return job.rounds * 60_000 + 60_000;
}

async function profileJob(job: Job, candidate: string, log: (m: string) => void): Promise<ProfileResult> {
  const dir = mkdtempSync(join(tmpdir(), 'smartasync-prof-'));
  const label = `${job.section}, ${job.workers} worker${job.workers > 1 ? 's' : ''}, ${candidate}, unpinned`;
  try {
    const pj: Job = { ...job, mode: 'unpinned', only: [candidate], rounds: Math.max(2, Math.ceil(job.rounds / 2)) };
    const res = await runChild<JobResult>(pj, false, {
      timeoutMs: timeoutFor(pj),
      nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
      log,
    });
    const threads = summarise(dir, res.measuredUs);
    const calls = pj.rounds * pj.block;
    const c = res.candidates[0];
    return {
      label,
      section: job.section,
      candidate,
      workers: job.workers,
      calls,
      threads,
      ...(c?.error ? { error: c.error } : {}),
    };
  } catch (err) {
    return { label, section: job.section, candidate, workers: job.workers, calls: 0, threads: [], error: String(err) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(o: RunOptions): Promise<Results> {
  const t0 = performance.now();
  const ticks0 = cpuTicks();
  const results: Results = {
    meta: {
      date: new Date().toISOString(),
      size: o.size,
      command: o.command,
      node: process.version,
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      platform: `${process.platform} ${process.arch}`,
      commit: git(['rev-parse', '--short', 'HEAD']),
      smartasyncVersion: smartasyncVersion(),
      smartasyncBuild: subjectBuild(),
      pinningAvailable: hasTaskset(),
      loadavgBefore: loadavg(),
    },
    jobs: [],
    profiles: [],
  };
  mkdirSync(o.out, { recursive: true });
  const save = () => writeFileSync(join(o.out, 'results.json'), JSON.stringify(results, null, 1) + '\n');

  const jobs = plan({
    size: o.size,
    sections: o.sections,
    modes: o.modes,
    workers: o.workers,
    only: o.only,
    adapters: o.adapters,
  });
  for (const [i, job] of jobs.entries()) {
    const name = `${job.section} ${job.mode} workers=${job.workers}`;
    o.log(`[${i + 1}/${jobs.length}] ${name}: ${job.rounds} rounds x ${job.block} calls`);
    try {
      const res = await runChild<JobResult>(job, job.mode === 'pinned', {
        timeoutMs: timeoutFor(job),
        log: (m) => o.log('    ' + m),
      });
      results.jobs.push(res);
      o.log(`    done in ${res.wallSeconds.toFixed(1)} s`);
    } catch (err) {
      results.jobs.push({ job, error: String(err) });
      o.log(`    FAILED: ${String(err)}`);
    }
    save();
  }

  const subjectSelected = !o.only || o.only.some((x) => x.startsWith('smartasync'));
  if (o.profile && subjectSelected) {
    const p = PARAMS[o.size];
    const base = { mode: 'unpinned' as const, inFlight: 256, adapters: o.adapters };
    const targets: [Job, string][] = [];
    if (o.sections.includes('throughput'))
      targets.push([{ ...base, section: 'throughput', workers: 1, ...p.throughput }, 'smartasync']);
    if (o.sections.includes('roundtrip'))
      targets.push([{ ...base, section: 'roundtrip', workers: 1, ...p.roundtrip }, 'smartasync']);
    if (o.sections.includes('payload'))
      targets.push([{ ...base, section: 'payload', workers: 1, ...p.payload }, 'smartasync']);
    if (o.sections.includes('sync'))
      targets.push([{ ...base, section: 'sync', workers: 1, ...p.sync }, 'smartasync.sync']);
    for (const [job, cand] of targets) {
      o.log(`[profile] ${job.section} ${cand}`);
      results.profiles.push(await profileJob(job, cand, (m) => o.log('    ' + m)));
      save();
    }
  }

  if (o.app) {
    o.log('[app] users API under autocannon');
    try {
      const { runApp } = await import('./app/run-app.ts');
      results.app = await runApp({ size: o.size, log: (m) => o.log('    ' + m) });
    } catch (err) {
      results.app = { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      o.log(`    FAILED: ${String(err)}`);
    }
    save();
  }

  if (o.traffic.length) {
    o.log('[traffic] server traffic (issue 7)');
    try {
      const { runTraffic } = await import('./traffic/run.ts');
      results.traffic = await runTraffic({
        size: o.size,
        only: o.only,
        parts: o.traffic,
        log: (m) => o.log('    ' + m),
      });
    } catch (err) {
      results.traffic = { error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
      o.log(`    FAILED: ${String(err)}`);
    }
    save();
  }

  results.meta.loadavgAfter = loadavg();
  const ticks1 = cpuTicks();
  // Children still running are not counted as ours, but none is left at this point.
  if (ticks0 && ticks1)
    results.meta.otherCores =
      Math.max(0, ticks1.machine - ticks0.machine - (ticks1.own - ticks0.own)) /
      100 /
      ((performance.now() - t0) / 1000);
  results.meta.smartasyncBuildAfter = subjectBuild();
  if (results.meta.smartasyncBuildAfter !== results.meta.smartasyncBuild) {
    o.log(
      `WARNING: smartasync was rebuilt during the run (${results.meta.smartasyncBuild} -> ${results.meta.smartasyncBuildAfter}); its figures mix two builds`,
    );
  }
  results.meta.wallSeconds = Math.round((performance.now() - t0) / 100) / 10;
  save();
  await writeReport(results, o.out);
  return results;
}

export async function reportOnly(out: string): Promise<void> {
  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  await writeReport(results, out);
}
