// What every part of the report shares: target verdicts, Markdown tables, number formats, and
// Vega-Lite specs rendered to SVG headlessly (vega's View).
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { Results } from '../results.ts';

export type Verdict = 'met' | 'missed' | 'not measured';
export interface TargetCheck {
  id: string;
  target: string;
  where: string;
  value: string;
  required: string;
  verdict: Verdict;
  /** for a miss: the measured reason */
  why?: string;
}

/**
 * A verdict: `row` is `id|target|where|value|required`, as the row of the targets table reads; `why`
 * (the measured reason) is only worked out for a miss.
 */
export function target(ok: boolean | undefined, row: string, why?: () => string | undefined): TargetCheck {
  const [id, name, where, value, required] = row.split('|') as [string, string, string, string, string];
  const verdict = ok === undefined ? 'not measured' : ok ? 'met' : 'missed';
  return { id, target: name, where, value, required, verdict, why: ok === false ? why?.() : undefined };
}

/** A Markdown table: header cells separated by `|`, each row's cells by ` | `; every column but the first right-aligned. */
export function table(head: string, rows: string[]): string {
  const cols = head.split('|');
  return [
    `| ${cols.join(' | ')} |`,
    `| ${cols.map((_, i) => (i ? '---:' : '---')).join(' | ')} |`,
    ...rows.map((r) => `| ${r} |`),
  ].join('\n');
}
/** Row cells joined for `table`. */
export const cells = (...xs: (string | number)[]) => xs.join(' | ');

type N = number | undefined;
const ok = (x: N): x is number => x !== undefined && Number.isFinite(x);
/** Sections 1–5: µs and ms with one decimal below 100. */
export const us = (x: N) => (x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1));
export const rate = (x: N) =>
  x === undefined
    ? '–'
    : x >= 10000
      ? `${(x / 1000).toFixed(0)}k`
      : x >= 1000
        ? `${(x / 1000).toFixed(1)}k`
        : x.toFixed(0);
/** Section 6: ms with the digits that matter at its size. */
export const ms = (x: N) =>
  !ok(x) ? '–' : x < 1 ? x.toFixed(3) : x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0);
export const pct = (x: N, digits = 1) => (!ok(x) ? '–' : `${(x * 100).toFixed(digits)}%`);
export const ratio = (a: N, b: N) => (a === undefined || b === undefined || !(b > 0) ? '–' : `${(a / b).toFixed(2)}×`);
export const rate6 = (x: N) => (!ok(x) ? '–' : x >= 10000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0));
export const bold = (id: string, subject = 'smartasync') => (id === subject ? `**${id}**` : id);
export const star = (id: string) => (id === 'smartasync' || id.startsWith('smartasync.') ? `★ ${id}` : id);

/** A part of the results that did not run or failed, in words; undefined when it ran. */
export function failed(part: object | undefined): string | undefined {
  if (!part) return '_not run_';
  return 'error' in part ? `_failed: ${String(part.error).split('\n')[0]}_` : undefined;
}

export type Spec = TopLevelSpec;
export type Datum = Record<string, string | number>;
export const FONT = { font: 'Helvetica, Arial, sans-serif', labelFontSize: 11, titleFontSize: 12 };

export function base(title: string, subtitle: string): Partial<TopLevelSpec> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, anchor: 'start', fontSize: 14 },
    config: { axis: { ...FONT, labelLimit: 260 }, legend: { ...FONT, labelLimit: 260 }, view: { stroke: null } },
    background: 'white',
    padding: 12,
  } as Partial<TopLevelSpec>;
}
export const runLine = (r: Results) =>
  `Node ${r.meta.node}, ${r.meta.cpus} cores, ${r.meta.size} run ${r.meta.date.slice(0, 10)}`;
export const legend = (field: string, scale?: object) => ({
  field,
  type: 'nominal',
  title: null,
  ...(scale ? { scale } : {}),
  legend: { orient: 'bottom' },
});

/** A value label next to each mark. */
export const valueText = (field: string, format: string, o: object = { dx: 6, fontSize: 8 }) => ({
  mark: { type: 'text', align: 'left', ...o },
  encoding: {
    x: { field, type: 'quantitative' },
    text: { field, type: 'quantitative', format },
    color: { value: '#222' },
  },
});

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
