// The soak comparison (issue 8, item 5): smartasync and piscina under the same long mixed load,
// half the calls throwing, back to back, each in a process of its own (./child.ts); RSS and every
// thread's V8 heap sampled once a second. Memory is compared by growth, not level: the level
// depends on how big the heaps were sized before the load started.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { machineLoad, runChild, runMeta } from '../lib/proc.ts';
import { median } from '../lib/stats.ts';
import { renderSvg, table, verdict } from '../report/format.ts';
import type { SoakJob, SoakOutcome, SoakSample } from './child.ts';

export const CANDIDATES = ['smartasync', 'piscina'] as const;
/** smartasync's RSS growth may be at most this multiple of piscina's (issue 8). */
const GROWTH_RATIO_TARGET = 1.5;
/** The second half is flat when it added at most this share of the growth, or this many MB (GC noise). */
const [FLAT_SHARE, FLAT_FLOOR_MB] = [0.1, 10];
const MB = 2 ** 20;

/** One candidate's run in figures (MB, seconds), from its samples in time order, the first taken before the load. */
export function summarize(samples: SoakSample[], window = 5) {
  if (samples.length < 2) throw new Error(`a soak run needs at least 2 samples, got ${samples.length}`);
  const [first, last] = [samples[0]!, samples.at(-1)!];
  const seconds = last.t;
  const rss = (xs: SoakSample[]) => median(xs.map((s) => s.rss)) / MB;
  // The middle: median of the samples within `window` s; the end: over the last `window` s.
  const rssMid = rss(samples.filter((s) => Math.abs(s.t - seconds / 2) <= window));
  const rssEnd = rss(samples.filter((s) => s.t >= seconds - window));
  // Least-squares slope of RSS over the second half, MB per minute.
  const half = samples.filter((s) => s.t >= seconds / 2).map((s) => [s.t / 60, s.rss / MB] as const);
  const [mx, my] = [0, 1].map((k) => half.reduce((a, p) => a + p[k as 0 | 1], 0) / half.length) as [number, number];
  const den = half.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  const lastHalfSlope = den ? half.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / den : 0;
  const [rssBefore, mainHeapTotal] = [first.rss / MB, last.heapTotal / MB];
  const workerHeapTotal = last.workers.reduce((a, w) => a + w.total, 0) / MB;
  const [growth, lastHalfGrowth] = [rssEnd - rssBefore, rssEnd - rssMid];
  const { calls, failed } = last;
  const [callsPerSecond, rssPeak] = [seconds > 0 ? calls / seconds : 0, Math.max(...samples.map((s) => s.rss)) / MB];
  const rest = last.rss / MB - mainHeapTotal - workerHeapTotal;
  const flat = lastHalfGrowth <= Math.max(FLAT_SHARE * growth, FLAT_FLOOR_MB);
  const memory = { rssBefore, rssMid, rssEnd, rssPeak, growth, lastHalfGrowth, lastHalfSlope };
  return { seconds, calls, callsPerSecond, failed, ...memory, mainHeapTotal, workerHeapTotal, rest, flat };
}

export type SoakRun = Omit<Partial<SoakOutcome>, 'samples'> & {
  candidate: SoakJob['candidate'];
  samples: SoakSample[];
  summary?: ReturnType<typeof summarize>;
  error?: string;
};
export type SoakResults = Awaited<ReturnType<typeof runSoak>>;

async function runOne(job: SoakJob, log: (line: string) => void): Promise<SoakRun> {
  const run: SoakRun = { candidate: job.candidate, samples: [] };
  try {
    const child = new URL('./child.ts', import.meta.url);
    const timeoutMs = (job.seconds + 120) * 1000;
    const { samples, wrong, firstWrong } = await runChild<SoakOutcome>(child, 'soak', job, { timeoutMs, log });
    Object.assign(run, { samples, wrong, firstWrong });
    if (wrong > 0) run.error = `${wrong} calls settled wrongly, first: ${firstWrong}`;
    else run.summary = summarize(samples);
  } catch (err) {
    run.error = err instanceof Error ? err.message : String(err);
  }
  return run;
}

export async function runSoak(
  o: Omit<SoakJob, 'candidate'> & {
    only: readonly SoakJob['candidate'][];
    out: string;
    command: string;
    log: (line: string) => void;
  },
) {
  const machine = machineLoad();
  const meta = { ...runMeta(o.command), seconds: o.seconds, concurrency: o.concurrency, workers: o.workers };
  const runs: SoakRun[] = [];
  for (const candidate of CANDIDATES.filter((c) => o.only.includes(c))) {
    o.log(`[soak] ${candidate}: ${o.seconds} s, ${o.concurrency} calls in flight, ${o.workers} workers`);
    const job = { candidate, seconds: o.seconds, concurrency: o.concurrency, workers: o.workers };
    runs.push(await runOne(job, (m) => o.log(`    ${m}`)));
    if (runs.at(-1)!.error) o.log(`    FAILED: ${runs.at(-1)!.error}`);
  }
  const [sa, pi] = CANDIDATES.map((c) => runs.find((r) => r.candidate === c)?.summary);
  const results = {
    meta: { ...meta, loadavgAfter: loadavg(), otherCores: machine.otherCores() },
    runs,
    ...(sa && pi && { growthRatio: sa.growth / Math.max(pi.growth, 1) }),
  };
  mkdirSync(o.out, { recursive: true });
  writeFileSync(join(o.out, 'soak.json'), JSON.stringify(results) + '\n');
  writeFileSync(join(o.out, 'soak.svg'), await renderSvg(chart(results)));
  writeFileSync(join(o.out, 'soak.md'), soakMarkdown(results));
  return results;
}

const [f0, f1] = [(x: number) => x.toFixed(0), (x: number) => x.toFixed(1)];

/** The verdicts of issue 8's target, or none without both candidates. */
export function soakVerdicts(r: SoakResults) {
  const [sa, pi] = CANDIDATES.map((c) => r.runs.find((x) => x.candidate === c)?.summary);
  if (!sa || !pi || r.growthRatio === undefined) return [];
  const v = (target: string, value: string, required: string, met: boolean) => ({ target, value, required, met });
  const growth = `≤ ${f0(GROWTH_RATIO_TARGET * Math.max(pi.growth, 1))} MB (1.5 × ${f0(pi.growth)} MB)`;
  const flat = `≤ ${f1(Math.max(FLAT_SHARE * sa.growth, FLAT_FLOOR_MB))} MB (max of ${FLAT_SHARE * 100}% of the growth, ${FLAT_FLOOR_MB} MB)`;
  const ratioMet = r.growthRatio <= GROWTH_RATIO_TARGET;
  return [
    v('RSS growth ≤ 1.5 × piscina’s', `${f0(sa.growth)} MB (${r.growthRatio.toFixed(2)} ×)`, growth, ratioMet),
    v('Flat over the last half', `+${f1(sa.lastHalfGrowth)} MB (${f1(sa.lastHalfSlope)} MB/min)`, flat, sa.flat),
  ];
}

function soakMarkdown(r: SoakResults): string {
  const m = r.meta;
  const verdicts = soakVerdicts(r).map((v) => `${v.target} | ${v.value} | ${v.required} | ${verdict(v.met)}`);
  const rows = r.runs.map(({ candidate: c, summary: s, error }) =>
    s
      ? `${c === 'smartasync' ? '**smartasync**' : c} | ${f0(s.callsPerSecond / 1000)}k | ${f0(s.rssBefore)} | ${f0(s.rssMid)} | ${f0(s.rssEnd)} | ${f0(s.rssPeak)} | **${f0(s.growth)}** | ` +
        `${f1(s.lastHalfGrowth)} (${f1(s.lastHalfSlope)}/min) | ${f0(s.mainHeapTotal)} | ${f0(s.workerHeapTotal)} | ${f0(s.rest)}`
      : `${c} | failed: ${error ?? 'no summary'}${' | '.repeat(9)}`,
  );
  return `# Soak: memory under error load

Generated by \`${m.command}\` on ${m.date} (${f0(m.seconds / 60)} min per candidate, one after the other, each in a process of its own).
Node ${m.node}, ${m.cpus} × ${m.cpuModel}; commit ${m.commit}; smartasync ${m.smartasyncVersion ?? '?'} (build ${m.smartasyncBuild ?? '?'}).
Load average before/after: ${m.loadavgBefore.map(f1).join(' ')} / ${m.loadavgAfter.map(f1).join(' ')}.${m.otherCores !== undefined ? ` Other processes kept ${m.otherCores.toFixed(2)} of the ${m.cpus} cores busy on average.` : ''}

Scenario: [\`src/soak/child.ts\`](../src/soak/child.ts). ${m.concurrency} calls kept in flight, pools of ${m.workers} workers, each call a \`lookup(i)\` whose odd calls throw and whose even calls return a small object; every outcome is checked.

## Target (issue 8, item 5)

${verdicts.length ? table('target|smartasync|required|verdict', verdicts) : '_Not evaluated: it needs both candidates._'}

## Figures (MB)

${table('candidate|calls/s|RSS before|RSS mid|RSS end|peak|growth|last half|main heap|worker heaps|rest', rows)}

*mid*, *end*: median RSS within 5 s of the middle and over the last 5 s; *last half* = end − mid, with its least-squares slope. Heaps: V8 heap reserved at the end. *rest* = RSS − those heaps.

![RSS over time](soak.svg)
`;
}

function chart(r: SoakResults): object {
  const mb = (s: SoakSample) => (s.heapTotal + s.workers.reduce((a, w) => a + w.total, 0)) / MB;
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
    mark: { type: 'line', strokeWidth: 1.5 },
    data: {
      values: r.runs.flatMap(({ candidate, samples }) =>
        samples.flatMap((s) => [
          { candidate, what: 'RSS', t: s.t / 60, mb: s.rss / MB },
          { candidate, what: 'V8 heaps (main + workers)', t: s.t / 60, mb: mb(s) },
        ]),
      ),
    },
    encoding: {
      x: { field: 't', type: 'quantitative', title: 'minutes since the load started' },
      y: { field: 'mb', type: 'quantitative', title: 'MB' },
      color: { field: 'candidate', type: 'nominal', title: null, legend: { orient: 'bottom' } },
      strokeDash: { field: 'what', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 300 } },
    },
  };
}
