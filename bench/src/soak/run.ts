// The soak comparison (issue 8, item 5): smartasync and piscina under the same long mixed load,
// half the calls throwing, back to back, each in a process of its own; RSS and every thread's
// V8 heap sampled once a second. Memory is compared by growth, not level: the level depends on
// how big the heaps were sized before the load started.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { git, machineLoad, smartasyncVersion, subjectBuild } from '../lib/proc.ts';
import { renderSvg, table, type Spec } from '../report/format.ts';
import { summarize, FLAT_FLOOR_MB, FLAT_SHARE, type SoakSample, type SoakSummary } from './analyze.ts';
import type { SoakJob, SoakLine } from './child.ts';

const childEntry = fileURLToPath(new URL('./child.ts', import.meta.url));

export const CANDIDATES = ['smartasync', 'piscina'] as const;
/** smartasync's RSS growth may be at most this multiple of piscina's (issue 8). */
export const GROWTH_RATIO_TARGET = 1.5;

export interface SoakOptions {
  seconds: number;
  concurrency: number;
  workers: number;
  only: readonly SoakJob['candidate'][];
  out: string;
  command: string;
  log: (line: string) => void;
}

export interface SoakRun {
  candidate: SoakJob['candidate'];
  samples: SoakSample[];
  summary?: SoakSummary;
  wrong?: number;
  firstWrong?: string;
  error?: string;
}

export interface SoakResults {
  meta: {
    date: string;
    command: string;
    node: string;
    cpus: number;
    cpuModel: string;
    commit: string;
    smartasyncVersion: string | null;
    smartasyncBuild: string | null;
    seconds: number;
    concurrency: number;
    workers: number;
    loadavgBefore: number[];
    loadavgAfter?: number[];
    otherCores?: number;
  };
  runs: SoakRun[];
  /** smartasync's growth over piscina's */
  growthRatio?: number;
}

function runOne(job: SoakJob, log: (line: string) => void): Promise<SoakRun> {
  const run: SoakRun = { candidate: job.candidate, samples: [] };
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [childEntry, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const every = Math.max(1, Math.round(Math.max(job.seconds / 10, 1) / (job.sampleMs / 1000)));
    createInterface({ input: child.stdout }).on('line', (text) => {
      let line: SoakLine;
      try {
        line = JSON.parse(text) as SoakLine;
      } catch {
        log(text); // not ours: pass it on
        return;
      }
      if (line.type === 'sample') {
        const { type: _type, ...sample } = line;
        run.samples.push(sample);
        if ((run.samples.length - 1) % every === 0) {
          const workers = sample.workers.map((w) => (w.total / 2 ** 20).toFixed(0)).join('+');
          log(
            `${sample.t.toFixed(0)} s: ${sample.calls} calls, RSS ${(sample.rss / 2 ** 20).toFixed(0)} MB (heaps: main ${(sample.heapTotal / 2 ** 20).toFixed(0)}, workers ${workers} MB)`,
          );
        }
      } else {
        run.wrong = line.wrong;
        run.firstWrong = line.firstWrong;
      }
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), (job.seconds + 120) * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0)
        run.error = `child exited with ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      else if (run.wrong === undefined) run.error = 'the child ended without its closing line';
      else if (run.wrong > 0) run.error = `${run.wrong} calls settled wrongly, first: ${run.firstWrong}`;
      if (!run.error) {
        try {
          run.summary = summarize(run.samples);
        } catch (err) {
          run.error = String(err);
        }
      }
      resolve(run);
    });
  });
}

export async function runSoak(o: SoakOptions): Promise<SoakResults> {
  const machine = machineLoad();
  const results: SoakResults = {
    meta: {
      date: new Date().toISOString(),
      command: o.command,
      node: process.version,
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      commit: git(['rev-parse', '--short', 'HEAD']),
      smartasyncVersion: smartasyncVersion(),
      smartasyncBuild: subjectBuild(),
      seconds: o.seconds,
      concurrency: o.concurrency,
      workers: o.workers,
      loadavgBefore: loadavg(),
    },
    runs: [],
  };
  for (const candidate of CANDIDATES.filter((c) => o.only.includes(c))) {
    o.log(`[soak] ${candidate}: ${o.seconds} s, ${o.concurrency} calls in flight, ${o.workers} workers`);
    const run = await runOne(
      { candidate, seconds: o.seconds, concurrency: o.concurrency, workers: o.workers, sampleMs: 1000 },
      (m) => o.log(`    ${m}`),
    );
    if (run.error) o.log(`    FAILED: ${run.error}`);
    results.runs.push(run);
  }
  const [sa, pi] = ['smartasync', 'piscina'].map((c) => results.runs.find((r) => r.candidate === c)?.summary);
  if (sa && pi) results.growthRatio = sa.growth / Math.max(pi.growth, 1);
  Object.assign(results.meta, { loadavgAfter: loadavg(), otherCores: machine.otherCores() });
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'soak.json'), JSON.stringify(results) + '\n');
  writeFileSync(join(o.out, 'soak.svg'), await renderSvg(chart(results)));
  writeFileSync(join(o.out, 'soak.md'), soakMarkdown(results));
  return results;
}

const f0 = (x: number): string => x.toFixed(0);
const f1 = (x: number): string => x.toFixed(1);

/** The verdicts of issue 8's target, or why there are none. */
export function soakVerdicts(r: SoakResults): { target: string; value: string; required: string; met: boolean }[] {
  const sa = r.runs.find((x) => x.candidate === 'smartasync')?.summary;
  const pi = r.runs.find((x) => x.candidate === 'piscina')?.summary;
  if (!sa || !pi || r.growthRatio === undefined) return [];
  return [
    {
      target: 'RSS growth ≤ 1.5 × piscina’s',
      value: `${f0(sa.growth)} MB (${r.growthRatio.toFixed(2)} ×)`,
      required: `≤ ${f0(GROWTH_RATIO_TARGET * Math.max(pi.growth, 1))} MB (1.5 × ${f0(pi.growth)} MB)`,
      met: r.growthRatio <= GROWTH_RATIO_TARGET,
    },
    {
      target: 'Flat over the last half',
      value: `+${f1(sa.lastHalfGrowth)} MB (${f1(sa.lastHalfSlope)} MB/min)`,
      required: `≤ ${f1(Math.max(FLAT_SHARE * sa.growth, FLAT_FLOOR_MB))} MB (max of ${FLAT_SHARE * 100}% of the growth, ${FLAT_FLOOR_MB} MB)`,
      met: sa.flat,
    },
  ];
}

export function soakMarkdown(r: SoakResults): string {
  const m = r.meta;
  const verdicts = soakVerdicts(r);
  const rows = r.runs.map(({ candidate: c, summary: s, error }) =>
    s
      ? `${c === 'smartasync' ? '**smartasync**' : c} | ${f0(s.callsPerSecond / 1000)}k | ${f0(s.rssBefore)} | ${f0(s.rssMid)} | ${f0(s.rssEnd)} | ${f0(s.rssPeak)} | **${f0(s.growth)}** | ` +
        `${f1(s.lastHalfGrowth)} (${f1(s.lastHalfSlope)}/min) | ${f0(s.mainHeapTotal)} | ${f0(s.workerHeapTotal)} | ${f0(s.rest)}`
      : `${c} | failed: ${error ?? 'no summary'}${' | '.repeat(9)}`,
  );
  return `# Soak: memory under error load

Generated by \`${m.command}\` on ${m.date} (${f0(m.seconds / 60)} min per candidate, one after the other, each in a process of its own).
Node ${m.node}, ${m.cpus} × ${m.cpuModel}; commit ${m.commit}; smartasync ${m.smartasyncVersion ?? '?'} (build ${m.smartasyncBuild ?? '?'}).
Load average before/after: ${m.loadavgBefore.map(f1).join(' ')} / ${m.loadavgAfter?.map(f1).join(' ') ?? '?'}.${m.otherCores !== undefined ? ` Other processes kept ${m.otherCores.toFixed(2)} of the ${m.cpus} cores busy on average during the run (memory figures depend on the call rate far less than timings do).` : ''}

The load: ${m.concurrency} calls kept in flight by as many callers, pools of ${m.workers} workers (smartasync with its defaults, its express worker included; piscina with min = max threads), each call a \`lookup(i)\` whose odd calls throw \`new Error(\`row \${i} was not found\`)\` and whose even calls return \`{ i, name, ok }\`. Every outcome is checked.

## Target (issue 8, item 5)

${
  verdicts.length
    ? table(
        'target|smartasync|required|verdict',
        verdicts.map((v) => `${v.target} | ${v.value} | ${v.required} | ${v.met ? '✅ met' : '❌ missed'}`),
      )
    : '_Not evaluated: it needs both candidates._'
}

## Figures (MB)

${table('candidate|calls/s|RSS before|RSS mid|RSS end|peak|growth|last half|main heap|worker heaps|rest', rows)}

*RSS before*: the pool up and idle, before the load. *mid*, *end*: median of the samples within 5 s of the middle and over the last 5 s. *growth* = end − before; *last half* = end − mid, with the least-squares slope of RSS over the second half. *main heap*, *worker heaps*: V8 heap reserved at the end (\`heapTotal\` of the main thread, \`total_heap_size\` summed over the workers, as each worker reports it once a second). *rest* = RSS − those heaps: code, native allocations, thread stacks and what the allocator keeps.

![RSS over time](soak.svg)
`;
}

function chart(r: SoakResults): Spec {
  const data = r.runs.flatMap((run) =>
    run.samples.flatMap((s) => [
      { candidate: run.candidate, what: 'RSS', t: s.t / 60, mb: s.rss / 2 ** 20 },
      {
        candidate: run.candidate,
        what: 'V8 heaps (main + workers)',
        t: s.t / 60,
        mb: (s.heapTotal + s.workers.reduce((a, w) => a + w.total, 0)) / 2 ** 20,
      },
    ]),
  );
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: 'RSS under a mixed load, half the calls throwing',
      subtitle: `${r.meta.concurrency} in flight, ${r.meta.workers} workers · Node ${r.meta.node} · ${r.meta.date.slice(0, 10)}`,
      anchor: 'start',
    },
    background: 'white',
    padding: 12,
    width: 560,
    height: 260,
    data: { values: data },
    mark: { type: 'line', strokeWidth: 1.5 },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'minutes since the load started' },
      y: { field: 'mb', type: 'quantitative', title: 'MB' },
      color: { field: 'candidate', type: 'nominal', title: null, legend: { orient: 'bottom' } },
      strokeDash: { field: 'what', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 300 } },
    },
  } as Spec;
}
