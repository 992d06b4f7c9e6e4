// What every part of the report shares: reading results.json, target verdicts, Markdown tables,
// number formats, and Vega-Lite specs rendered to SVG headlessly (vega's View).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { CandidateResult, JobResult, Mode, Section } from '../micro.ts';
import type { Results } from '../results.ts';

/** A target's row in targets.json and results.md; `why`, for a miss, is its measured reason. */
export type TargetCheck = Record<'id' | 'target' | 'where' | 'value' | 'required', string> & {
  verdict: 'met' | 'missed' | 'not measured';
  why?: string;
};

export const verdict = (met: boolean) => (met ? '✅ met' : '❌ missed');

/** A Markdown table: header cells separated by `|`, each row's cells by ` | `; every column but the first right-aligned. */
export function table(head: string, rows: string[]): string {
  const cols = head.split('|');
  const rule = cols.map((_, i) => (i ? '---:' : '---'));
  return [cols.join(' | '), rule.join(' | '), ...rows].map((r) => `| ${r} |`).join('\n');
}

type N = number | undefined;
const ok = (x: N): x is number => x !== undefined && Number.isFinite(x);
/** Sections 1–5: µs and ms with one decimal below 100. */
export const us = (x: N) => (x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
export const rate = (x: N) =>
  x === undefined ? '–' : x >= 1000 ? `${(x / 1000).toFixed(x >= 10000 ? 0 : 1)}k` : x.toFixed(0);
/** Section 6: ms with the digits that matter at its size. */
export const ms = (x: N) =>
  !ok(x) ? '–' : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
export const pct = (x: N, digits = 1) => (!ok(x) ? '–' : `${(x * 100).toFixed(digits)}%`);
export const ratio = (a: N, b: N) => (a === undefined || b === undefined || !(b > 0) ? '–' : `${(a / b).toFixed(2)}×`);
export const rate6 = (x: N) => (!ok(x) ? '–' : x >= 10000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
export const bold = (id: string, subject = 'smartasync') => (id === subject ? `**${id}**` : id);
export const star = (id: string) => (id === 'smartasync' || id.startsWith('smartasync.') ? `★ ${id}` : id);

// Sections 1–4 in results.json: one job per section, mode and pool size.
export const jobsOf = (r: Results, s: Section) =>
  r.jobs.filter((j): j is JobResult => 'candidates' in j && j.job.section === s);
export const find = (r: Results, s: Section, mode: Mode, workers = 1) =>
  jobsOf(r, s).find((j) => j.job.mode === mode && j.job.workers === workers);
export const modes = (r: Results, s: Section) =>
  (['pinned', 'unpinned'] as const).filter((m) => jobsOf(r, s).some((j) => j.job.mode === m));
export const poolSizes = (r: Results, s: Section) =>
  [...new Set(jobsOf(r, s).map((j) => j.job.workers))].sort((a, b) => a - b);
/** The median over rounds of `key` for a candidate that did not fail. */
export const metric = (c: CandidateResult | undefined, key: string): N => {
  const v = c?.error ? undefined : c?.metrics[key]?.median;
  return v === undefined || Number.isNaN(v) ? undefined : v;
};
const candidate = (j: JobResult | undefined, id: string) => j?.candidates.find((c) => c.id === id);
export const values = (j: JobResult | undefined, key: string, ...ids: string[]) =>
  ids.map((id) => metric(candidate(j, id), key));

export type Datum = Record<string, string | number>;
const FONT = { font: 'Helvetica, Arial, sans-serif', labelFontSize: 11, titleFontSize: 12 };

/** The frame of every chart: title, subtitle with the run, fonts; and its data. */
export const frame = (r: Results, title: string, subtitle: string, values: Datum[]) => ({
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  title: {
    text: title,
    subtitle: `${subtitle} · Node ${r.meta.node}, ${r.meta.cpus} cores, ${r.meta.size} run ${r.meta.date.slice(0, 10)}`,
    anchor: 'start',
    fontSize: 14,
  },
  config: { axis: { ...FONT, labelLimit: 260 }, legend: { ...FONT, labelLimit: 260 }, view: { stroke: null } },
  background: 'white',
  padding: 12,
  data: { values },
});

/**
 * One panel: a mark per row of `y` (in `ySort`'s order), at `x`, one beside the other per value of `by`
 * (coloured by it, in `bySort`'s order); bars from zero, or points on a log scale for latencies
 * spanning orders of magnitude. A value label beside each mark.
 */
export function panel(x: string, title: string, y: string, ySort: string[], by: string, bySort: string[], log = false) {
  const xEnc = { field: x, type: 'quantitative', title, ...(log ? { scale: { type: 'log' } } : {}) };
  return {
    width: 230,
    encoding: {
      y: { field: y, type: 'nominal', title: null, sort: ySort },
      yOffset: { field: by, sort: bySort },
      color: { field: by, type: 'nominal', title: null, sort: bySort, legend: { orient: 'bottom' } },
    },
    layer: [
      { mark: log ? { type: 'point', filled: true, size: 60, opacity: 1 } : { type: 'bar' }, encoding: { x: xEnc } },
      {
        mark: { type: 'text', align: 'left', baseline: 'middle', dx: 5, fontSize: 8 },
        encoding: {
          x: xEnc,
          text: { field: x, type: 'quantitative', format: /per_s|rps/.test(x) ? '.3~s' : '.3~r' },
          color: { value: '#222' },
        },
      },
    ],
  };
}

export async function renderSvg(spec: object): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
