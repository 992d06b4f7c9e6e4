// Sections 1–5 of results.md (issue 4): the target verdicts with their measured reasons, the tables
// and the charts of the round trip, throughput, payload, sync direction and the application.
import type { AppResult } from '../app/users-api.ts';
import type { CandidateResult, JobResult, Mode, Section } from '../micro.ts';
import type { Results } from '../results.ts';
import {
  base,
  legend,
  rate,
  star,
  table,
  target,
  us,
  valueText,
  type Datum,
  type Spec,
  type TargetCheck,
} from './format.ts';

type N = number | undefined;
const jobs = (r: Results) => r.jobs.filter((j): j is JobResult => 'candidates' in j);
const of = (r: Results, s: Section) => jobs(r).filter((j) => j.job.section === s);
const find = (r: Results, s: Section, mode: Mode, workers = 1) =>
  of(r, s).find((j) => j.job.mode === mode && j.job.workers === workers);
const modes = (r: Results, s: Section) =>
  (['pinned', 'unpinned'] as const).filter((m) => of(r, s).some((j) => j.job.mode === m));
const poolSizes = (r: Results, s: Section) => [...new Set(of(r, s).map((j) => j.job.workers))].sort();
const metric = (c: CandidateResult | undefined, key: string): N => {
  const v = c?.metrics[key]?.median;
  return v === undefined || Number.isNaN(v) ? undefined : v;
};
/** The value of `key` for each candidate id in job `j` (failed candidates have none). */
const values = (j: JobResult | undefined, key: string, ...ids: string[]) =>
  ids.map((id) =>
    metric(
      j?.candidates.find((c) => c.id === id && !c.error),
      key,
    ),
  );
/** The peer (any configuration) with the lowest (or highest) value of `key`, and that value. */
function bestPeer(j: JobResult | undefined, key: string, higherIsBetter: boolean): [CandidateResult | undefined, N] {
  const peers = (j?.candidates ?? []).filter((c) => c.kind === 'peer' && !c.error && metric(c, key) !== undefined);
  const best = peers.sort((a, b) => (higherIsBetter ? -1 : 1) * (metric(a, key)! - metric(b, key)!))[0];
  return [best, metric(best, key)];
}
const both = <T>(a: N, b: N, f: (a: number, b: number) => T): T | undefined =>
  a === undefined || b === undefined ? undefined : f(a, b);
const above = (x: N, floor: N) =>
  x === undefined || floor === undefined
    ? '? µs from'
    : `${us(Math.abs(x - floor))} µs ${x >= floor ? 'above' : 'below'}`;

export function issue4Targets(r: Results): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const mode of modes(r, 'roundtrip')) {
    const j = find(r, 'roundtrip', mode);
    const [s, raw, floor] = values(j, 'median_us', 'smartasync', 'raw:postMessage', 'floor:atomics');
    const [sCpu, rawCpu] = values(j, 'cpu_us_per_call', 'smartasync', 'raw:postMessage');
    const [peer, p] = bestPeer(j, 'median_us', false);
    const half = both(p, 0, (p) => p / 2);
    const row = `roundtrip|Round trip ≤ ½ best peer|${mode}|${us(s)} µs|≤ ${us(half)} µs (½ × ${peer?.id} ${us(p)} µs)`;
    out.push(
      target(
        both(s, p, (s, p) => s <= p / 2),
        row,
        () => {
          const under = s !== undefined && raw !== undefined && s < raw ? 'under' : 'over';
          return (
            `smartasync ${us(s)} µs vs raw postMessage ${us(raw)} µs vs the Atomics floor ${us(floor)} µs: smartasync is ${us(both(s, raw, (s, r) => Math.abs(s - r)))} µs ${under} raw postMessage ` +
            `(main-thread CPU ${us(sCpu)} vs ${us(rawCpu)} µs per call) and ${us(both(s, floor, (s, f) => s - f))} µs over the floor. ` +
            (half !== undefined && floor !== undefined
              ? `Half the best peer, ${us(half)} µs, leaves ${us(half - floor)} µs above a bare Atomics ping-pong that carries no object at all${raw !== undefined && half < raw ? `, and is below raw postMessage.` : '.'}`
              : '')
          );
        },
      ),
    );
  }
  // Throughput ≥ 2× the best peer configuration; main-thread CPU ≤ ½ the best peer's.
  for (const workers of poolSizes(r, 'throughput'))
    for (const mode of modes(r, 'throughput')) {
      const j = find(r, 'throughput', mode, workers);
      if (!j) continue;
      const [s, rawRate] = values(j, 'calls_per_s', 'smartasync', 'raw:postMessage');
      const [sCpu, rawCpu] = values(j, 'cpu_us_per_call', 'smartasync', 'raw:postMessage');
      const [[peer, p], [cpuPeer, pCpu]] = [bestPeer(j, 'calls_per_s', true), bestPeer(j, 'cpu_us_per_call', false)];
      const where = `${workers} worker${workers > 1 ? 's' : ''}, ${mode}`;
      const twice = `≥ ${rate(both(p, 0, (p) => 2 * p))} (2 × ${peer?.id} ${rate(p)})`;
      const half = `≤ ${us(both(pCpu, 0, (p) => p / 2))} µs (½ × ${cpuPeer?.id} ${us(pCpu)} µs)`;
      out.push(
        target(
          both(s, p, (s, p) => s >= 2 * p),
          `throughput|Throughput ≥ 2× best peer config|${where}|${rate(s)} calls/s|${twice}`,
          () =>
            `smartasync spends ${us(sCpu)} µs of main-thread CPU per call and the main thread is the bottleneck; raw postMessage reaches ${rate(rawRate)} calls/s at ${us(rawCpu)} µs.`,
        ),
        target(
          both(sCpu, pCpu, (s, p) => s <= p / 2),
          `throughput-cpu|Main-thread CPU/call ≤ ½ best peer|${where}|${us(sCpu)} µs|${half}`,
          () => `raw postMessage spends ${us(rawCpu)} µs per call.`,
        ),
      );
    }
  // The sync direction: ≤ ⅔ of synckit.
  for (const mode of modes(r, 'sync')) {
    const [s, k, floor] = values(
      find(r, 'sync', mode),
      'median_us',
      'smartasync.sync',
      'synckit:default',
      'floor:atomics-sync',
    );
    const twoThirds = both(k, 0, (k) => (2 * k) / 3);
    out.push(
      target(
        both(s, twoThirds, (s, t) => s <= t),
        `sync|f.sync() ≤ ⅔ synckit|${mode}|${us(s)} µs|≤ ${us(twoThirds)} µs (⅔ × synckit ${us(k)} µs)`,
        () =>
          `the Atomics floor for the sync direction is ${us(floor)} µs; smartasync.sync is ${above(s, floor)} it, synckit ${above(k, floor)} it.` +
          (twoThirds !== undefined && floor !== undefined && twoThirds < floor
            ? ` ⅔ of synckit (${us(twoThirds)} µs) is below that floor, a bare futex hand-off each way with no message at all: reaching it needs a cheaper hand-off than a futex wake-up, such as a worker that spins and burns a core.`
            : ''),
      ),
    );
  }
  // Payload: main-thread CPU ≤ ½ raw postMessage's. The issue allows avoiding the copy where the result
  // goes straight to an HTTP response: f.json() in a row of its own, next to the same trick by hand.
  for (const mode of modes(r, 'payload')) {
    const j = find(r, 'payload', mode);
    const [raw, rawJson] = values(j, 'cpu_us_per_call', 'raw:postMessage', 'raw:postMessage+JSON');
    // The same baseline returning a small object: the difference is what receiving 1,000 rows costs.
    const [rawSmall] = values(find(r, 'roundtrip', mode), 'cpu_us_per_call', 'raw:postMessage');
    const receive = both(raw, rawSmall, (a, b) => a - b);
    const share = raw !== undefined && receive !== undefined ? Math.round((receive / raw) * 100) : '?';
    for (const [id, name] of [
      ['smartasync', '1,000 rows: main-thread CPU ≤ ½ raw'],
      ['smartasync.json', '1,000 rows as JSON text (f.json()): main-thread CPU ≤ ½ raw'],
    ] as const) {
      if (!j?.candidates.some((x) => x.id === id)) continue;
      const [s] = values(j, 'cpu_us_per_call', id);
      const row = `${id === 'smartasync' ? 'payload' : 'payload-json'}|${name}|${mode}|${us(s)} µs|≤ ${us(both(raw, 0, (x) => x / 2))} µs (½ × raw ${us(raw)} µs)`;
      out.push(
        target(
          both(s, raw, (s, x) => s <= x / 2),
          row,
          () =>
            id === 'smartasync'
              ? `receiving the rows costs raw postMessage ${us(receive)} µs of main-thread CPU per call (its payload call minus its no-op call), ${share}% of its total: structured-clone deserialisation and the garbage it leaves. ` +
                `Halving it with objects as the result means materialising them more cheaply than V8's deserializer; otherwise the rows must stay off the main thread (f.json()).`
              : `the same trick done by hand, JSON.stringify on the worker and postMessage of the string, costs the main thread ${us(rawJson)} µs per call.`,
        ),
      );
    }
  }
  if (r.app && 'summary' in r.app) out.push(...appTargets(r.app, r.meta.cpus));
  return out;
}

function appTargets(app: AppResult, cores: number): TargetCheck[] {
  const get = (b: string, s: string) => app.summary.find((x) => x.build === b && x.scenario === s);
  const [sA, sL, sH, nA, nL, mA, mL] = [
    ...['alone', 'with-report', 'with-cpu-hog'].map((s) => get('smartasync', s)),
    ...['naive', 'manual-piscina'].flatMap((b) => [get(b, 'alone'), get(b, 'with-report')]),
  ];
  const [sAlone, sLoad, sHog, nAlone, mAlone] = [sA?.light, sL?.light, sH?.light, nA?.light, mA?.light];
  const [sCpu, nCpu, sReport] = [sA?.cpu, nA?.cpu, sL?.report];
  const total = (c: { mainUs: number; workersUs: number; otherUs: number }) => c.mainUs + c.workersUs + c.otherUs;
  const share = (f: typeof sAlone, k: 'over2msShare' | 'over10msShare') => (f ? (f[k] * 100).toFixed(2) : '?');
  const budget = nAlone && sCpu ? (cores * 1e6) / (0.9 * nAlone.requestsPerSec) - sCpu.loadgenUs : undefined;
  const waits =
    sLoad && sAlone && sLoad.over10msShare > sAlone.over10msShare + 0.001
      ? ': some light calls wait out a whole report. '
      : sLoad && sHog && sLoad.over2msShare > 1.5 * sHog.over2msShare
        ? `: light calls rarely wait out a whole report, but more of them than in the busy-core control wait a few ms (over 2 ms: ${share(sLoad, 'over2msShare')}% vs ${share(sHog, 'over2msShare')}%), consistent with calls placed on the worker that is running a report until the pool moves them. `
        : ': light calls do not wait behind reports. ';
  const reportWhy = () =>
    `with the report running, light p50 is ${us(sLoad?.p50Ms)} ms (alone ${us(sAlone?.p50Ms)} ms) at ${rate(sLoad?.requestsPerSec)} req/s; ` +
    `${share(sLoad, 'over2msShare')}% of light requests took over 2 ms (alone ${share(sAlone, 'over2msShare')}%, busy-core control ${share(sHog, 'over2msShare')}%), ` +
    `${share(sLoad, 'over10msShare')}% over 10 ms (alone ${share(sAlone, 'over10msShare')}%). ` +
    (sL?.pool && sA?.pool
      ? `The pool's own statistics: calls waited ${sL.pool.meanWaitMs.toFixed(3)} ms on average for a worker (alone ${sA.pool.meanWaitMs.toFixed(3)} ms)${waits}`
      : '') +
    (sL?.loop && sA?.loop
      ? `The server's event loop ran late by p99 ${us(sL.loop.p99Ms)} ms with the report (alone ${us(sA.loop.p99Ms)} ms, max ${us(sL.loop.maxMs)} ms). `
      : '') +
    (sHog
      ? `Control: with a separate busy-loop process taking one core instead of the report (the server untouched), light p99 is ${us(sHog.p99Ms)} ms at ${rate(sHog.requestsPerSec)} req/s${sLoad && sHog.p99Ms >= 0.75 * sLoad.p99Ms ? ': the rise is the machine losing a core, not smartasync. ' : '. '}`
      : '') +
    `The report itself (${rate(sReport?.requestsPerSec)} req/s × p50 ${us(sReport?.p50Ms)} ms) keeps ≈${sReport ? ((sReport.requestsPerSec * sReport.p50Ms) / 1000).toFixed(2) : '?'} of the ${cores} cores busy, which the server's main thread, the light queries and the load generator then share. ` +
    `For comparison the manual piscina build goes from p99 ${us(mAlone?.p99Ms)} to ${us(mL?.light.p99Ms)} ms under the same load; naive from ${us(nAlone?.p99Ms)} to ${us(nL?.light.p99Ms)} ms.`;
  const cpuWhy = (s: NonNullable<typeof sCpu>, n: NonNullable<typeof nCpu>) =>
    ` Measured CPU per request: naive ${us(total(n))} µs in the server (main thread ${us(n.mainUs)}), smartasync ${us(total(s))} µs ` +
    `(main thread ${us(s.mainUs)}, workers ${us(s.workersUs)}, other threads ${us(s.otherUs)}); the load generator adds ${us(n.loadgenUs)} / ${us(s.loadgenUs)} µs on the same ${cores} cores. ` +
    `Every core is busy, so throughput follows the machine's CPU per request: ${cores} cores / ${us(total(n) + n.loadgenUs)} µs ≈ ${rate((cores * 1e6) / (total(n) + n.loadgenUs))} req/s for naive, ` +
    `/ ${us(total(s) + s.loadgenUs)} µs ≈ ${rate((cores * 1e6) / (total(s) + s.loadgenUs))} req/s for smartasync. ` +
    `Reaching 0.9 × naive here needs the smartasync server at ≤ ${us(budget)} µs of CPU per request in total, ` +
    `i.e. the offload (main-thread send and wake-ups, the worker's wake-ups) at no more than ≈${us(budget === undefined ? undefined : budget - total(n))} µs over running the query inline; it costs ${us(total(s) - total(n))} µs now.`;
  const [sRps, nRps, mRps] = [sAlone?.requestsPerSec, nAlone?.requestsPerSec, mAlone?.requestsPerSec];
  return [
    target(
      sAlone && sLoad ? sLoad.p99Ms <= 2 * sAlone.p99Ms : undefined,
      `app-p99|Light p99 with report ≤ 2× alone|smartasync build|${us(sLoad?.p99Ms)} ms|≤ ${us(sAlone ? 2 * sAlone.p99Ms : undefined)} ms (2 × ${us(sAlone?.p99Ms)} ms alone)`,
      reportWhy,
    ),
    target(
      both(sRps, nRps, (s, n) => s >= 0.9 * n),
      `app-vs-naive|Light req/s alone ≥ 0.9× naive|no report running|${rate(sRps)} req/s|≥ ${rate(both(nRps, 0, (n) => 0.9 * n))} (0.9 × naive ${rate(nRps)})`,
      () =>
        `each light request pays one offloaded call; at ${rate(sRps)} req/s that is ${us(both(sRps, nRps, (s, n) => 1e6 / s - 1e6 / n))} µs more wall time per request than running the query inline.` +
        (sCpu && nCpu ? cpuWhy(sCpu, nCpu) : ''),
    ),
    target(
      both(sRps, mRps, (s, m) => s > m),
      `app-vs-manual|Light req/s ahead of manual piscina|no report running|${rate(sRps)} req/s|> ${rate(mRps)} (manual piscina)`,
    ),
  ];
}

/** The subject's main-thread cost per call by origin and hottest functions, from its CPU profile. */
export function profileLine(r: Results, section: string): string | undefined {
  const p = r.profiles.find((x) => x.section === section && !x.error);
  const main = p?.threads.find((t) => t.thread === 'main');
  if (!p || !main || !p.calls) return undefined;
  const perCall = (ms: number) => `${((ms * 1000) / p.calls).toFixed(1)} µs`;
  const origins = main.byOrigin.slice(0, 5).map((o) => `${o.origin} ${perCall(o.selfMs)}`);
  const fns = main.top.slice(0, 5).map((f) => `\`${f.fn}\`${f.where ? ` (${f.where})` : ''} ${perCall(f.selfMs)}`);
  return `profile (${p.label}, ${p.calls} calls): main thread busy ${perCall(main.busyMs)} per call: ${origins.join(', ')}. Hottest: ${fns.join(', ')}.`;
}

// ---- tables ------------------------------------------------------------------------------

const name = (c: CandidateResult) => (c.kind === 'subject' ? `**${c.id}**` : c.id);
const cell = (c: CandidateResult, key: string, f: (x: N) => string) =>
  c.metrics[key] ? `${f(c.metrics[key].median)} <sub>${f(c.metrics[key].min)}–${f(c.metrics[key].max)}</sub>` : '–';
const withFailed = (j: JobResult, rows: string[], cols: number) => [
  ...rows,
  ...j.candidates
    .filter((c) => c.error)
    .map((c) => [name(c), `_${c.error}_`, ...Array<string>(cols - 2).fill('')].join(' | ')),
];
const sorted = (j: JobResult, key: string, dir: 1 | -1) =>
  j.candidates
    .filter((c) => !c.error)
    .sort((a, b) => dir * ((a.metrics[key]?.median ?? 0) - (b.metrics[key]?.median ?? 0)));

export function latencyTable(r: Results, section: Section): string {
  return modes(r, section)
    .map((mode) => {
      const j = find(r, section, mode)!;
      const rows = sorted(j, 'median_us', 1).map(
        (c) =>
          `${name(c)} | ${cell(c, 'median_us', us)} | ${cell(c, 'p99_us', us)} | ${c.pooled ? `${us(c.pooled.p50)} / ${us(c.pooled.p99)}` : '–'} | ${cell(c, 'cpu_us_per_call', us)}`,
      );
      const head = 'candidate|median µs|p99 µs|pooled p50 / p99 µs|main CPU µs/call';
      return `**${mode}** (${j.job.rounds} rounds × ${j.job.block} calls)\n\n${table(head, withFailed(j, rows, 5))}`;
    })
    .join('\n\n');
}

export function throughputTable(r: Results): string {
  return poolSizes(r, 'throughput')
    .flatMap((workers) =>
      modes(r, 'throughput').flatMap((mode) => {
        const j = find(r, 'throughput', mode, workers);
        if (!j) return [];
        const rows = sorted(j, 'calls_per_s', -1).map(
          (c) => `${name(c)} | ${cell(c, 'calls_per_s', rate)} | ${cell(c, 'cpu_us_per_call', us)} | ${c.note}`,
        );
        const t = table('candidate|calls/s|main CPU µs/call|configuration', withFailed(j, rows, 4));
        return [
          `**${workers} worker${workers > 1 ? 's' : ''}, ${mode}** (${j.job.rounds} rounds × ${j.job.block} calls, ${j.job.inFlight} in flight)\n\n${t}`,
        ];
      }),
    )
    .join('\n\n');
}

export function appSection(r: Results): string {
  if (!r.app) return '_not run_';
  if ('error' in r.app) return `_failed: ${r.app.error.split('\n')[0]}_`;
  const { params: p, summary, errors } = r.app;
  const head =
    'build|scenario|light req/s|light p50 ms|light p99 ms|light max ms|light > 2 ms|light > 10 ms|report req/s|report p50 ms|server loop delay p99 ms|pool wait ms/call|errors / non-2xx';
  const pct2 = (x: number) => `${(x * 100).toFixed(2)}%`;
  const rows = summary.map(
    ({ build, scenario, light: l, report, loop, pool }) =>
      `${build === 'smartasync' ? '**smartasync**' : build} | ${scenario} | ${rate(l.requestsPerSec)} | ${us(l.p50Ms)} | ${us(l.p99Ms)} | ${us(l.maxMs)} | ${pct2(l.over2msShare ?? NaN)} | ${pct2(l.over10msShare)} | ` +
      `${report ? report.requestsPerSec.toFixed(1) : '–'} | ${report ? us(report.p50Ms) : '–'} | ${loop ? us(loop.p99Ms) : '–'} | ${pool ? pool.meanWaitMs.toFixed(3) : '–'} | ${l.errors} / ${l.non2xx}`,
  );
  const cpuRows = summary.flatMap(({ build, cpu: c }) =>
    c
      ? [
          `${build} | ${us(c.mainUs)} | ${us(c.workersUs)} | ${us(c.otherUs)} | ${us(c.mainUs + c.workersUs + c.otherUs)} | ${us(c.loadgenUs)}`,
        ]
      : [],
  );
  const cpuTable = cpuRows.length
    ? `\n\nCPU time per light request with no report running (from \`/proc/<pid>/task/*/stat\` of the server, and the runner's own CPU for autocannon), µs:\n\n` +
      table('build|server main thread|server workers|server other threads|server total|load generator', cpuRows)
    : '';
  return (
    `${p.rounds} round(s) of ${p.seconds} s per build and scenario, builds interleaved; light load ${p.lightConnections} connections on ` +
    `\`GET /users/:id\` (random ids of ${p.users} users); report load ${p.reportConnections} connection(s) on \`GET /reports/users\` ` +
    `(PBKDF2 cost ${p.reportCost}). Server and load generator on the same 2 cores.\n\n${p.builds.map((b) => `- \`${b.build}\`: ${b.note}`).join('\n')}\n\n${table(head, rows)}${cpuTable}` +
    (errors.length ? `\n\nErrors: ${errors.map((e) => `${e.build}: ${e.error}`).join('; ')}` : '')
  );
}

export function profiles(r: Results): string {
  if (!r.profiles.length) return '_not profiled in this run (`--profile`)_';
  const thread = (p: Results['profiles'][number], t: Results['profiles'][number]['threads'][number]) => {
    const perCall = (ms: number) => (p.calls ? ((ms * 1000) / p.calls).toFixed(2) : '–');
    const rows = t.top
      .slice(0, 10)
      .map(
        (f) =>
          `${f.fn.replace(/\|/g, '\\|')} | ${f.where || '(native)'} | ${f.origin} | ${(f.share * 100).toFixed(1)}% | ${perCall(f.selfMs)}`,
      );
    return (
      `**${p.label} — ${t.thread} thread${t.thread === 'workers' ? 's' : ''}**: ${t.busyMs.toFixed(0)} ms busy over ${p.calls} calls = ${perCall(t.busyMs)} µs per call\n\n` +
      `By origin: ${t.byOrigin.map((o) => `${o.origin} ${(o.share * 100).toFixed(1)}%`).join(' · ')}\n\n${table('function|where|origin|share of busy|µs per call', rows)}`
    );
  };
  return r.profiles
    .flatMap((p) => (p.error ? [`**${p.label}**: failed (${p.error})`] : p.threads.map((t) => thread(p, t))))
    .join('\n\n');
}

// Unpinned, a call's latency depends on whether the two threads share a core or the woken one must
// bring an idle core back: on a VM that shows as whole rounds at one of two levels.
export function bimodal(r: Results): string {
  const wide = (['roundtrip', 'sync'] as const).flatMap((s) =>
    (find(r, s, 'unpinned')?.candidates ?? []).flatMap(({ id, metrics: { median_us: m } }) =>
      m && m.min > 0 && m.max / m.min > 3 ? [`${id} ${us(m.min)}–${us(m.max)} µs`] : [],
    ),
  );
  if (!wide.length) return '';
  return (
    ` In this run the unpinned round medians jumped between two levels (${wide.slice(0, 6).join(', ')}${wide.length > 6 ? ', …' : ''}): ` +
    `the level is set by where the scheduler placed the caller and its worker for that block. Checked with /proc/<pid>/task/*/stat on synckit: ` +
    `every block with caller and worker on different cores ran at ≈50 µs, the cost of waking a halted vCPU on this VM; on one core (pinned) the same calls take ≈8 µs. ` +
    `An unpinned median over rounds therefore mostly counts how many rounds drew which placement.`
  );
}

// ---- charts ------------------------------------------------------------------------------

/** One row per candidate × mode (× pool size): the median and the min–max over rounds. */
const rows = (r: Results, section: Section, keys: string[]): Datum[] =>
  of(r, section).flatMap((j) =>
    j.candidates
      .filter((c) => !c.error)
      .map((c) => {
        const d: Datum = {
          candidate: star(c.id),
          kind: c.kind,
          mode: j.job.mode,
          workers: `${j.job.workers} worker${j.job.workers > 1 ? 's' : ''}`,
        };
        for (const [k, m] of keys.flatMap((k) => (c.metrics[k] ? [[k, c.metrics[k]] as const] : [])))
          Object.assign(d, { [k]: m.median, [`${k}_min`]: m.min, [`${k}_max`]: m.max });
        return d;
      }),
  );

/** Horizontal bars of the median per candidate, pinned and unpinned side by side, a rule over the min–max. */
const bars = (key: string, title: string, sort: string[], width = 300) => ({
  width,
  encoding: {
    y: { field: 'candidate', type: 'nominal', title: null, sort },
    yOffset: { field: 'mode', sort: ['pinned', 'unpinned'] },
    color: {
      field: 'mode',
      type: 'nominal',
      scale: { domain: ['pinned', 'unpinned'], range: ['#4c78a8', '#9ecae9'] },
      title: null,
      legend: { orient: 'bottom' },
    },
  },
  layer: [
    {
      mark: { type: 'bar', height: { band: 0.45 } },
      encoding: {
        x: { field: key, type: 'quantitative', title },
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
    valueText(key, key.includes('per_s') ? '.3~s' : '.1f', { dx: 3, dy: -5, fontSize: 9 }),
  ],
});

/** Candidates from best to worst by their best value of `key`. */
function order(data: Datum[], key: string, higherIsBetter = false): string[] {
  const best = new Map<string, number>();
  for (const { [key]: v, candidate: c } of data) {
    const prev = best.get(c as string);
    if (typeof v === 'number' && (prev === undefined || (higherIsBetter ? v > prev : v < prev)))
      best.set(c as string, v);
  }
  return [...best].sort((a, b) => (higherIsBetter ? b[1] - a[1] : a[1] - b[1])).map(([c]) => c);
}

export function issue4Charts(r: Results): Record<string, Spec> {
  const specs: Record<string, Spec> = {};
  const sub = (extra: string) =>
    `${extra} · bar = median over rounds, line = min–max of the round medians · Node ${r.meta.node}, ${r.meta.cpus} cores, ${r.meta.size} run ${r.meta.date.slice(0, 10)}`;
  const chart = (s: Section, title: string, subtitle: string, panels: [string, string, number?][], up = false) => {
    const data = rows(
      r,
      s,
      panels.map(([k]) => k),
    );
    const sort = order(data, panels[0]![0], up);
    const hconcat = { hconcat: panels.map(([k, t, w]) => bars(k, t, sort, w)) };
    if (!data.length) return;
    const pools = [...new Set(data.map((d) => d.workers as string))].sort();
    const body =
      s === 'throughput'
        ? {
            vconcat: pools.map((w) => ({
              title: { text: w, anchor: 'start', fontSize: 12 },
              transform: [{ filter: { field: 'workers', equal: w } }],
              ...hconcat,
            })),
          }
        : hconcat;
    specs[s] = { ...base(title, sub(subtitle)), data: { values: data }, ...body } as Spec;
  };
  chart('roundtrip', 'Round trip: one no-op call at a time', 'µs, lower is better; 1 worker', [
    ['median_us', 'median µs'],
    ['p99_us', 'p99 µs'],
    ['cpu_us_per_call', 'main-thread CPU µs / call', 220],
  ]);
  chart(
    'throughput',
    'Throughput: 256 calls in flight',
    'calls/s higher is better, CPU lower is better',
    [
      ['calls_per_s', 'calls / s'],
      ['cpu_us_per_call', 'main-thread CPU µs / call', 240],
    ],
    true,
  );
  chart('payload', 'Payload: a call returning 1,000 rows {id, name, email}', 'µs, lower is better; 1 worker', [
    ['median_us', 'round trip median µs'],
    ['cpu_us_per_call', 'main-thread CPU µs / call'],
  ]);
  chart('sync', 'Sync direction: block until a worker settles an async function', 'µs, lower is better', [
    ['median_us', 'median µs'],
    ['p99_us', 'p99 µs'],
  ]);
  if (!r.app || !('summary' in r.app)) return specs;
  const scenario = {
    alone: 'light alone',
    'with-report': 'light + report',
    'with-cpu-hog': 'light + busy core (control)',
  };
  const domain = Object.values(scenario);
  const values: Datum[] = r.app.summary.map((s) => ({
    build: s.build,
    scenario: scenario[s.scenario],
    rps: s.light.requestsPerSec,
    p50: s.light.p50Ms,
    p99: s.light.p99Ms,
  }));
  const panel = (field: string, title: string, format: string) => ({
    width: 260,
    encoding: {
      y: { field: 'build', type: 'nominal', title: null, sort: ['smartasync', 'manual-piscina', 'naive'] },
      yOffset: { field: 'scenario', sort: domain },
      color: legend('scenario', { domain, range: ['#4c78a8', '#e45756', '#bab0ac'] }),
    },
    layer: [
      { mark: { type: 'bar', height: { band: 0.45 } }, encoding: { x: { field, type: 'quantitative', title } } },
      valueText(field, format, { dx: 4, fontSize: 9 }),
    ],
  });
  const subtitle = `alone and while GET /reports/users is called concurrently · median over rounds · ${r.meta.size} run ${r.meta.date.slice(0, 10)}`;
  specs.app = {
    ...base('Users API: GET /users/:id under autocannon', subtitle),
    data: { values },
    hconcat: [
      panel('rps', 'light requests / s', '.3~s'),
      panel('p50', 'light p50 ms', '.2f'),
      panel('p99', 'light p99 ms', '.2f'),
    ],
  } as Spec;
  return specs;
}
