// npm run bench [-- --quick]: every comparison of issues 4 and 7, results in bench/results/. Each job
// runs in a process of its own (pinned to one core or not); the report is rebuilt from results.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { runApp } from './src/app/users-api.ts';
import { scriptOptions } from './src/lib/cli.ts';
import { hasTaskset, machineLoad, runChild, runMeta, subjectBuild } from './src/lib/proc.ts';
import type { Job, JobResult, Mode, Section } from './src/micro.ts';
import { IN_FLIGHT, PARAMS, TRAFFIC, type Size } from './src/plan.ts';
import { summarise } from './src/profile.ts';
import type { ProfileResult, Results, TrafficResult } from './src/results.ts';
import { writeReport } from './src/report/write.ts';
import { runTrafficApp } from './src/traffic/app.ts';
import { runIdle } from './src/traffic/idle.ts';

const HELP = `npm run bench [-- options]     (node bench/run.ts [options])

  --quick              short blocks and few rounds: a few minutes
  --smoke              tiny counts; proves the pipeline, figures meaningless
  --sections=a,b       any of roundtrip,throughput,payload,sync,app,traffic (default: all)
  --traffic=a,b        parts of the traffic section: spaced,openloop,mixed,idle,app (default: all)
  --only=id,lib        only these candidates (ids or library names)
  --workers=1,2        pool sizes for the throughput comparison
  --no-pin             skip the taskset -c 0 runs;  --pinned-only  skip the unpinned ones
  --profile / --no-profile   CPU-profile smartasync (default: on for full runs)
  --out=dir            where to write results (default bench/results)
  --report-only        rebuild results.md and the charts from an existing results.json
`;
const MICRO: Section[] = ['roundtrip', 'throughput', 'payload', 'sync'];
const SECTIONS = [...MICRO, 'app', 'traffic'];
const TRAFFIC_PARTS = ['spaced', 'openloop', 'mixed', 'idle', 'app'];
const micro = new URL('./src/micro.ts', import.meta.url);
const log = (m: string) => void process.stderr.write(m + '\n');
const indent = (m: string) => log('    ' + m);
const errText = (err: unknown) => (err instanceof Error ? (err.stack ?? err.message) : String(err));

const argv = process.argv.slice(2);
const args = scriptOptions(['sections', 'traffic', 'only', 'workers', 'out'], HELP, {
  flags: ['quick', 'smoke', 'no-pin', 'pinned-only', 'profile', 'no-profile', 'report-only'],
});
const out = resolve(args.get('out') ?? new URL('./results', import.meta.url).pathname);
if (args.flag('report-only')) {
  await writeReport(JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results, out);
  process.exit(0);
}
const split = (s: string | undefined) => s?.split(',').map((x) => x.trim());
const list = (s: string | undefined, all: string[], what: string) => {
  const xs = split(s) ?? all;
  for (const x of xs) if (!all.includes(x)) throw new Error(`unknown ${what} ${x} (one of ${all.join(', ')})`);
  return xs;
};
const size: Size = args.flag('smoke') ? 'smoke' : args.flag('quick') ? 'quick' : 'full';
const sections = list(args.get('sections'), SECTIONS, 'section');
const parts = sections.includes('traffic') ? list(args.get('traffic'), TRAFFIC_PARTS, 'traffic part') : [];
const wanted = args.flag('pinned-only') ? ['pinned'] : args.flag('no-pin') ? ['unpinned'] : ['unpinned', 'pinned'];
const modes = wanted.filter((m) => m === 'unpinned' || hasTaskset()) as Mode[];
const only = split(args.get('only'));
// Profiles explain misses; they cost a few seconds, so quick runs skip them unless asked.
const profile = args.flag('profile') || (!args.flag('no-profile') && size === 'full');

const t0 = performance.now();
const machine = machineLoad();
const results: Results = {
  meta: { ...runMeta(`node bench/run.ts ${argv.join(' ')}`.trim()), size, pinningAvailable: hasTaskset() },
  jobs: [],
  profiles: [],
};
mkdirSync(out, { recursive: true });
const save = () => writeFileSync(join(out, 'results.json'), JSON.stringify(results, null, 1) + '\n');
const runJob = (job: Job, nodeArgs?: string[]) =>
  runChild<JobResult>(micro, 'runJob', job, {
    pinned: job.mode === 'pinned',
    timeoutMs: job.rounds * 60_000 + 60_000,
    nodeArgs,
    log: indent,
  });

// Sections 1–4. Latency sections use one worker: with more, successive calls alternate between threads
// and each finds its worker asleep, which measures the scheduler, not the library.
const base = { inFlight: IN_FLIGHT, only };
const microModes = modes.length ? modes : (['unpinned'] as Mode[]);
const jobs = MICRO.filter((s) => sections.includes(s)).flatMap((section) =>
  (section === 'throughput' ? (args.get('workers')?.split(',').map(Number) ?? [1, 2]) : [1]).flatMap((workers) =>
    microModes.map((mode): Job => ({ section, mode, workers, ...PARAMS[size][section], ...base })),
  ),
);
for (const [i, job] of jobs.entries()) {
  const { section, mode, workers, rounds, block } = job;
  log(`[${i + 1}/${jobs.length}] ${section} ${mode} workers=${workers}: ${rounds} rounds x ${block} calls`);
  try {
    const res = await runJob(job);
    results.jobs.push(res);
    log(`    done in ${res.wallSeconds.toFixed(1)} s`);
  } catch (err) {
    results.jobs.push({ job, error: String(err) });
    log(`    FAILED: ${String(err)}`);
  }
  save();
}

// The subject alone, profiled (main thread and workers, measured rounds only), unpinned.
if (profile && (!only || only.some((x) => x.startsWith('smartasync'))))
  for (const section of (['throughput', 'roundtrip', 'payload', 'sync'] as const).filter((s) => sections.includes(s))) {
    const candidate = section === 'sync' ? 'smartasync.sync' : 'smartasync';
    const p = PARAMS[size][section];
    const rounds = Math.max(2, Math.ceil(p.rounds / 2));
    const job: Job = { ...base, section, mode: 'unpinned', workers: 1, only: [candidate], rounds, block: p.block };
    const label = `${section}, 1 worker, ${candidate}, unpinned`;
    const res: ProfileResult = { label, section, candidate, workers: 1, calls: 0, threads: [] };
    log(`[profile] ${section} ${candidate}`);
    const dir = mkdtempSync(join(tmpdir(), 'smartasync-prof-'));
    try {
      const r = await runJob(job, ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
      Object.assign(res, { calls: job.rounds * job.block, threads: summarise(dir, r.measuredUs as [number, number]) });
      if (r.candidates[0]?.error) res.error = r.candidates[0].error;
    } catch (err) {
      res.error = String(err);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    results.profiles.push(res);
    save();
  }

// Sections 5 and 6 spawn their own processes.
async function part<T>(name: string, f: () => Promise<T>): Promise<T | { error: string }> {
  try {
    return await f();
  } catch (err) {
    log(`    FAILED ${name}: ${String(err)}`);
    return { error: errText(err) };
  }
}
if (sections.includes('app')) {
  log('[app] users API under autocannon');
  results.app = await part('app', () => runApp({ size, log: indent }));
  save();
}
if (parts.length) {
  log('[traffic] server traffic (issue 7)');
  const traffic: TrafficResult = { params: TRAFFIC[size] };
  results.traffic = traffic;
  for (const scenario of ['spaced', 'openloop', 'mixed'] as const) {
    if (!parts.includes(scenario)) continue;
    log(scenario);
    const mod = new URL(`./src/traffic/${scenario}.ts`, import.meta.url);
    // Generous: a build with a stall can take ~20 ms per spaced call.
    traffic[scenario] = await part(scenario, () =>
      runChild<never>(mod, scenario, { size, only }, { timeoutMs: 15 * 60_000, log: indent }),
    );
  }
  if (parts.includes('idle')) {
    log(`idle pools, ${TRAFFIC[size].idle.seconds} s`);
    traffic.idle = await part('idle', () => runIdle(size, only, log));
  }
  if (parts.includes('app')) {
    log('users API');
    traffic.app = await part('traffic app', () => runTrafficApp({ size, log: indent }));
  }
  save();
}

const m = results.meta;
Object.assign(m, { loadavgAfter: loadavg(), otherCores: machine.otherCores(), smartasyncBuildAfter: subjectBuild() });
const rebuilt = `smartasync was rebuilt during the run (${m.smartasyncBuild} -> ${m.smartasyncBuildAfter})`;
if (m.smartasyncBuildAfter !== m.smartasyncBuild) log(`WARNING: ${rebuilt}; its figures mix two builds`);
m.wallSeconds = Math.round((performance.now() - t0) / 100) / 10;
save();
await writeReport(results, out);
log(`wrote ${out}/results.{json,md} and charts in ${m.wallSeconds} s`);
// Peers that leave handles behind must not keep the runner alive.
process.exit(0);
