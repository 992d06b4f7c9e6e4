// Vega-Lite specs for every comparison, rendered to SVG headlessly with vega's View.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';
import type { Section } from '../job.ts';
import type { Results } from '../results.ts';
import { okJobs } from './data.ts';
import { trafficCharts } from './traffic.ts';

type Datum = Record<string, string | number>;

const MODE_COLORS = { domain: ['pinned', 'unpinned'], range: ['#4c78a8', '#9ecae9'] };
const FONT = { font: 'Helvetica, Arial, sans-serif', labelFontSize: 11, titleFontSize: 12 };
const AXIS = { ...FONT, labelLimit: 260 };

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const compiled = vl.compile(spec).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

function label(id: string): string {
  return id === 'smartasync' || id.startsWith('smartasync.') ? `★ ${id}` : id;
}

/** One row per candidate × mode (× pool size) with the median and the spread over rounds. */
function rows(r: Results, section: Section, keys: string[]): Datum[] {
  const out: Datum[] = [];
  for (const j of okJobs(r).filter((x) => x.job.section === section)) {
    for (const c of j.candidates) {
      if (c.error) continue;
      const d: Datum = {
        candidate: label(c.id),
        kind: c.kind,
        mode: j.job.mode,
        workers: `${j.job.workers} worker${j.job.workers > 1 ? 's' : ''}`,
      };
      for (const k of keys) {
        const m = c.metrics[k];
        if (!m) continue;
        d[k] = m.median;
        d[`${k}_min`] = m.min;
        d[`${k}_max`] = m.max;
      }
      out.push(d);
    }
  }
  return out;
}

/** Horizontal bars of the median per candidate, pinned and unpinned side by side, with a rule over the min–max of the rounds. */
function barPanel(key: string, title: string, opts: { sort?: string[]; log?: boolean; width?: number } = {}): object {
  return {
    width: opts.width ?? 300,
    encoding: {
      y: { field: 'candidate', type: 'nominal', title: null, sort: opts.sort ?? null },
      yOffset: { field: 'mode', sort: ['pinned', 'unpinned'] },
      color: { field: 'mode', type: 'nominal', scale: MODE_COLORS, title: null, legend: { orient: 'bottom' } },
    },
    layer: [
      {
        mark: { type: 'bar', height: { band: 0.45 } },
        encoding: {
          x: { field: key, type: 'quantitative', title, ...(opts.log ? { scale: { type: 'log' } } : {}) },
          tooltip: [{ field: 'candidate' }, { field: 'mode' }, { field: key, format: '.1f' }],
        },
      },
      {
        mark: { type: 'rule', strokeWidth: 1, opacity: 0.7 },
        encoding: {
          x: { field: `${key}_min`, type: 'quantitative' },
          x2: { field: `${key}_max` },
          color: { value: '#222' },
        },
      },
      {
        mark: { type: 'text', align: 'left', dx: 3, dy: -5, fontSize: 9 },
        encoding: {
          x: { field: key, type: 'quantitative' },
          text: { field: key, type: 'quantitative', format: key.includes('per_s') ? '.3~s' : '.1f' },
          color: { value: '#222' },
        },
      },
    ],
  };
}

function order(data: Datum[], key: string, higherIsBetter = false): string[] {
  const best = new Map<string, number>();
  for (const d of data) {
    const v = d[key];
    if (typeof v !== 'number') continue;
    const c = d.candidate as string;
    const prev = best.get(c);
    if (prev === undefined || (higherIsBetter ? v > prev : v < prev)) best.set(c, v);
  }
  return [...best].sort((a, b) => (higherIsBetter ? b[1] - a[1] : a[1] - b[1])).map(([c]) => c);
}

function base(title: string, subtitle: string): Partial<TopLevelSpec> {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle, anchor: 'start', fontSize: 14 },
    config: { axis: AXIS, legend: { ...FONT, labelLimit: 260 }, view: { stroke: null } },
    background: 'white',
    padding: 12,
  } as Partial<TopLevelSpec>;
}

function subtitle(r: Results, extra: string): string {
  return `${extra} · bar = median over rounds, line = min–max of the round medians · Node ${r.meta.node}, ${r.meta.cpus} cores, ${r.meta.size} run ${r.meta.date.slice(0, 10)}`;
}

export function chartSpecs(r: Results): Record<string, TopLevelSpec> {
  const specs: Record<string, TopLevelSpec> = {};

  const rt = rows(r, 'roundtrip', ['median_us', 'p99_us', 'cpu_us_per_call']);
  if (rt.length) {
    const sort = order(rt, 'median_us');
    specs.roundtrip = {
      ...base('Round trip: one no-op call at a time', subtitle(r, 'µs, lower is better; 1 worker')),
      data: { values: rt },
      hconcat: [
        barPanel('median_us', 'median µs', { sort }),
        barPanel('p99_us', 'p99 µs', { sort }),
        barPanel('cpu_us_per_call', 'main-thread CPU µs / call', { sort, width: 220 }),
      ],
    } as TopLevelSpec;
  }

  const tp = rows(r, 'throughput', ['calls_per_s', 'cpu_us_per_call']);
  if (tp.length) {
    const sort = order(tp, 'calls_per_s', true);
    const pools = [...new Set(tp.map((d) => d.workers as string))].sort();
    specs.throughput = {
      ...base('Throughput: 256 calls in flight', subtitle(r, 'calls/s higher is better, CPU lower is better')),
      data: { values: tp },
      vconcat: pools.map((w) => ({
        title: { text: w, anchor: 'start', fontSize: 12 },
        transform: [{ filter: { field: 'workers', equal: w } }],
        hconcat: [
          barPanel('calls_per_s', 'calls / s', { sort }),
          barPanel('cpu_us_per_call', 'main-thread CPU µs / call', { sort, width: 240 }),
        ],
      })),
    } as TopLevelSpec;
  }

  const pl = rows(r, 'payload', ['median_us', 'cpu_us_per_call']);
  if (pl.length) {
    const sort = order(pl, 'median_us');
    specs.payload = {
      ...base('Payload: a call returning 1,000 rows {id, name, email}', subtitle(r, 'µs, lower is better; 1 worker')),
      data: { values: pl },
      hconcat: [
        barPanel('median_us', 'round trip median µs', { sort }),
        barPanel('cpu_us_per_call', 'main-thread CPU µs / call', { sort }),
      ],
    } as TopLevelSpec;
  }

  const sy = rows(r, 'sync', ['median_us', 'p99_us']);
  if (sy.length) {
    const sort = order(sy, 'median_us');
    specs.sync = {
      ...base('Sync direction: block until a worker settles an async function', subtitle(r, 'µs, lower is better')),
      data: { values: sy },
      hconcat: [barPanel('median_us', 'median µs', { sort }), barPanel('p99_us', 'p99 µs', { sort })],
    } as TopLevelSpec;
  }

  if (r.app && 'summary' in r.app) {
    const values: Datum[] = r.app.summary.map((s) => ({
      build: s.build,
      scenario:
        s.scenario === 'alone'
          ? 'light alone'
          : s.scenario === 'with-report'
            ? 'light + report'
            : 'light + busy core (control)',
      rps: s.light.requestsPerSec,
      p50: s.light.p50Ms,
      p99: s.light.p99Ms,
    }));
    const color = {
      field: 'scenario',
      type: 'nominal',
      title: null,
      scale: {
        domain: ['light alone', 'light + report', 'light + busy core (control)'],
        range: ['#4c78a8', '#e45756', '#bab0ac'],
      },
      legend: { orient: 'bottom' },
    };
    const panel = (field: string, title: string, format: string) => ({
      width: 260,
      encoding: {
        y: { field: 'build', type: 'nominal', title: null, sort: ['smartasync', 'manual-piscina', 'naive'] },
        yOffset: { field: 'scenario', sort: ['light alone', 'light + report', 'light + busy core (control)'] },
        color,
      },
      layer: [
        { mark: { type: 'bar', height: { band: 0.45 } }, encoding: { x: { field, type: 'quantitative', title } } },
        {
          mark: { type: 'text', align: 'left', dx: 4, fontSize: 9 },
          encoding: {
            x: { field, type: 'quantitative' },
            text: { field, type: 'quantitative', format },
            color: { value: '#222' },
          },
        },
      ],
    });
    specs.app = {
      ...base(
        'Users API: GET /users/:id under autocannon',
        `alone and while GET /reports/users is called concurrently · median over rounds · ${r.meta.size} run ${r.meta.date.slice(0, 10)}`,
      ),
      data: { values },
      hconcat: [
        panel('rps', 'light requests / s', '.3~s'),
        panel('p50', 'light p50 ms', '.2f'),
        panel('p99', 'light p99 ms', '.2f'),
      ],
    } as TopLevelSpec;
  }
  Object.assign(specs, trafficCharts(r, base));
  return specs;
}

export async function writeCharts(r: Results, dir: string): Promise<string[]> {
  const written: string[] = [];
  for (const [name, spec] of Object.entries(chartSpecs(r))) {
    writeFileSync(join(dir, `${name}.svg`), await renderSvg(spec));
    written.push(`${name}.svg`);
  }
  return written;
}
