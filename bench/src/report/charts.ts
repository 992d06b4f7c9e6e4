// The charts: one Vega-Lite spec per comparison, each a row of panels (see `panel`).
import type { Section } from '../micro.ts';
import { ok, type Results } from '../results.ts';
import { GAPS } from '../traffic/spaced.ts';
import { frame, jobsOf, panel, star, type Datum } from './format.ts';

const [MEDIAN, P99, CPU] = ['median_us|median µs', 'p99_us|p99 µs', 'cpu_us_per_call|main-thread CPU µs / call'];
const [RATE, PAYLOAD] = ['calls_per_s|calls / s', 'median_us|round trip median µs'];

/** Sections 1–4: title, subtitle, the metrics (`key|title`), and whether higher is better. */
const MICRO: [Section, string, string, string[], boolean?][] = [
  ['roundtrip', 'Round trip: one no-op call at a time', 'µs, lower is better; 1 worker', [MEDIAN, P99, CPU]],
  ['throughput', 'Throughput: 256 calls in flight', 'calls/s higher is better, CPU lower is better', [RATE, CPU], true],
  ['payload', 'Payload: a call returning 1,000 rows', 'µs, lower is better; 1 worker', [PAYLOAD, CPU]],
  ['sync', 'Sync direction: block until a worker settles an async function', 'µs, lower is better', [MEDIAN, P99]],
];

/** Per candidate and mode (and pool size), the median over rounds of each metric. */
function micro(r: Results, [s, title, subtitle, metrics, up]: (typeof MICRO)[number]) {
  const keys = metrics.map((m) => m.split('|') as [string, string]);
  const data: Datum[] = jobsOf(r, s).flatMap((j) =>
    j.candidates
      .filter((c) => !c.error)
      .map((c) => ({
        candidate: star(c.id),
        mode: s === 'throughput' ? `${j.job.mode}, ${j.job.workers} worker${j.job.workers > 1 ? 's' : ''}` : j.job.mode,
        ...Object.fromEntries(keys.map(([k]) => [k, c.metrics[k]?.median ?? NaN])),
      })),
  );
  if (!data.length) return undefined;
  // Candidates in the order of their best value of the first metric.
  const v = (d: Datum) => (up ? -1 : 1) * (d[keys[0]![0]] as number);
  const sort = [...new Set([...data].sort((a, b) => v(a) - v(b)).map((d) => d.candidate as string))];
  // By mode, then pool size as a number ("2 workers" before "10 workers").
  const offsets = [...new Set(data.map((d) => d.mode as string))].sort((a, b) =>
    a.localeCompare(b, 'en', { numeric: true }),
  );
  return {
    ...frame(r, title, `${subtitle} · median over rounds`, data),
    hconcat: keys.map(([k, t]) => panel(k, t, 'candidate', sort, 'mode', offsets)),
  };
}

export function charts(r: Results): Record<string, object | undefined> {
  const specs: Record<string, object | undefined> = Object.fromEntries(MICRO.map((m) => [m[0], micro(r, m)]));
  const app = ok(r.app);
  if (app) {
    const scenarios = ['alone', 'with-report', 'with-cpu-hog'];
    const builds = ['smartasync', 'smartasync-auto', 'manual-piscina', 'naive'];
    const values = app.summary.map(({ build, scenario, light }) => {
      return { build, scenario, rps: light.requestsPerSec, p50: light.p50Ms, p99: light.p99Ms };
    });
    const panels = ['rps|light requests / s', 'p50|light p50 ms', 'p99|light p99 ms'].map((p) => p.split('|'));
    specs.app = {
      ...frame(r, 'Users API: GET /users/:id under autocannon', 'alone, with the report, next to a busy core', values),
      hconcat: panels.map(([k, title]) => panel(k!, title!, 'build', builds, 'scenario', scenarios)),
    };
  }
  const t = ok(r.traffic);
  const pools = ['★ smartasync', 'piscina:default', 'raw:postMessage'];
  const log = 'ms, log scale, lower is better';
  const sp = t && ok(t.spaced);
  if (sp) {
    const values = sp.candidates.flatMap((c) =>
      GAPS.flatMap((gap) => (c.gaps[gap] ? [{ candidate: star(c.id), gap, ...c.gaps[gap].latency }] : [])),
    );
    specs['traffic-spaced'] = {
      ...frame(r, 'Spaced calls: one light call at a time, a gap between calls', log, values),
      hconcat: ['p50', 'p99', 'max'].map((k) => panel(k, `${k} ms`, 'gap', [...GAPS], 'candidate', pools, true)),
    };
  }
  const ol = t && ok(t.openloop);
  if (ol) {
    const rates = ol.rates.map((x) => String(Math.round(x)));
    const values = ol.candidates.flatMap((c) =>
      c.points.map((p) => ({ candidate: star(c.id), rate: String(Math.round(p.rate)), ...p.rec.latency })),
    );
    specs['traffic-openloop'] = {
      ...frame(r, 'Open-loop arrivals: latency from the intended send time', `${log} · by offered calls/s`, values),
      hconcat: ['p50', 'p99', 'p999'].map((k) => panel(k, `${k} ms`, 'rate', rates, 'candidate', pools, true)),
    };
  }
  const mx = t && ok(t.mixed);
  if (mx) {
    const phases = ['light alone', 'with long calls'];
    const values = mx.candidates.flatMap((c) =>
      c.alone && c.loaded
        ? [c.alone.latency.p99, c.loaded.latency.p99].map((p99, k) => {
            const long = (k ? c.longLoaded : c.longAlone)?.median ?? NaN;
            return { candidate: star(c.id), phase: phases[k]!, p99, long };
          })
        : [],
    );
    specs['traffic-mixed'] = {
      ...frame(r, 'Light calls among long ones', `light p99 (${log}) and long calls/s, alone and together`, values),
      hconcat: [
        panel('p99', 'light p99 ms', 'candidate', pools, 'phase', phases, true),
        panel('long', 'long calls / s', 'candidate', pools, 'phase', phases),
      ],
    };
  }
  const ta = t && ok(t.app);
  if (ta) {
    const scenarios = ['alone', 'with-report', ...ta.rates.map((x) => `open-${x}`)];
    const values = ta.scenarios.map((s) => ({ build: star(s.build), scenario: s.scenario, p99: s.latency.p99 }));
    const subtitle = `${log} · one client looping, alone and with the report; open loop`;
    const builds = ['★ smartasync', 'manual-piscina', 'naive'];
    specs['traffic-app'] = {
      ...frame(r, 'Users API: GET /users/:id p99', subtitle, values),
      hconcat: [panel('p99', 'p99 ms', 'scenario', scenarios, 'build', builds, true)],
    };
  }
  return specs;
}
