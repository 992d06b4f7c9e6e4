// Section 6 (server traffic, issue 7): target verdicts with measured reasons, the tables of
// results.md and the Vega-Lite specs of its charts.
import type { TopLevelSpec } from 'vega-lite';
import type { Results } from '../results.ts';
import type { Recorded } from '../traffic/hist.ts';
import {
  GAPS,
  ok,
  type AppScenarioFigures,
  type FirstRequest,
  type Gap,
  type IdleResult,
  type MixedResult,
  type OpenLoopResult,
  type SpacedResult,
  type TrafficAppResult,
  type TrafficResult,
} from '../traffic/types.ts';
import { table } from './data.ts';
import type { TargetCheck, Verdict } from './targets.ts';

const SUBJECT = 'smartasync';
const PEER = 'piscina:default';
const RAW = 'raw:postMessage';

/** ms with the digits that matter at its size. */
export function ms(x: number | undefined): string {
  if (x === undefined || !Number.isFinite(x)) return '–';
  if (x < 1) return x.toFixed(3);
  if (x < 10) return x.toFixed(2);
  if (x < 100) return x.toFixed(1);
  return x.toFixed(0);
}
const pct = (x: number | undefined, digits = 1) =>
  x === undefined || !Number.isFinite(x) ? '–' : `${(x * 100).toFixed(digits)}%`;
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || b === undefined || !(b > 0) ? '–' : `${(a / b).toFixed(2)}×`;
const rate = (x: number | undefined) =>
  x === undefined || !Number.isFinite(x) ? '–' : x >= 10000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0);

function check(cond: boolean | undefined): Verdict {
  return cond === undefined ? 'not measured' : cond ? 'met' : 'missed';
}

function traffic(r: Results): TrafficResult | undefined {
  return r.traffic && !('error' in r.traffic) ? r.traffic : undefined;
}

const GAP_LABEL: Record<Gap, string> = {
  setImmediate: 'setImmediate gap',
  '1ms': '1 ms timer gap',
  '10ms': '10 ms timer gap',
};

/** Where a distribution's time went, in words: the measured reason behind a tail. */
function where(rec: Recorded): string {
  const s = rec.split;
  return `waiting to start on a worker p50 ${ms(s.queue.p50)} / p99 ${ms(s.queue.p99)} ms, running p50 ${ms(s.run.p50)} ms, reply delivery (end of the body to the caller's promise settling) p50 ${ms(s.reply.p50)} / p99 ${ms(s.reply.p99)} ms`;
}

function slowWords(rec: Recorded): string {
  const sl = rec.slow;
  if (!sl.count) return 'no call over 5 ms';
  const cause =
    sl.replyMedianMs > 2 * sl.queueMedianMs
      ? 'the body had finished and the reply was written, but the caller was not woken for it'
      : sl.queueMedianMs > 2 * sl.replyMedianMs
        ? 'the call waited to start on a worker'
        : 'the time is split between waiting for a worker and reply delivery';
  const band = sl.count >= 3 ? `, 80% of them between ${ms(sl.p10Ms)} and ${ms(sl.p90Ms)} ms` : '';
  return `${sl.count} call(s) over 5 ms (${pct(rec.latency.over5ms)}), median ${ms(sl.medianMs)} ms${band}, of which ${ms(sl.queueMedianMs)} ms before the body started and ${ms(sl.replyMedianMs)} ms after it ended: ${cause}`;
}

// ---- targets -----------------------------------------------------------------------------

/** Whether a candidate's slow spaced calls all took about the same time (a fixed delay). */
function clustered(c: SpacedResult['candidates'][number]): boolean {
  const all = GAPS.map((g) => c.gaps[g]?.slow).filter((x): x is NonNullable<typeof x> => !!x && x.count >= 3);
  return all.length > 0 && all.every((x) => x.p90Ms < 1.5 * x.p10Ms);
}

function spacedTargets(sp: SpacedResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  const s = sp.candidates.find((c) => c.id === SUBJECT && !c.error);
  const p = sp.candidates.find((c) => c.id === PEER && !c.error);
  const raw = sp.candidates.find((c) => c.id === RAW && !c.error);
  for (const gap of GAPS) {
    const sg = s?.gaps[gap];
    const pg = p?.gaps[gap];
    const okP99 = sg && pg ? sg.latency.p99 <= pg.latency.p99 : undefined;
    out.push({
      id: 'traffic-spaced',
      target: 'Spaced calls: p99 ≤ piscina p99 (goal ≤ ½)',
      where: GAP_LABEL[gap],
      value: `${ms(sg?.latency.p99)} ms (${ratio(sg?.latency.p99, pg?.latency.p99)})`,
      required: `≤ ${ms(pg?.latency.p99)} ms (piscina p99; goal ≤ ${ms(pg ? pg.latency.p99 / 2 : undefined)} ms${sg && pg ? (sg.latency.p99 <= pg.latency.p99 / 2 ? ', goal met' : ', goal not met') : ''})`,
      verdict: check(okP99),
      why:
        okP99 === false && sg && pg
          ? `smartasync p50 ${ms(sg.latency.p50)} / p99 ${ms(sg.latency.p99)} / max ${ms(sg.latency.max)} ms against piscina ${ms(pg.latency.p50)} / ${ms(pg.latency.p99)} / ${ms(pg.latency.max)} ms` +
            (raw?.gaps[gap]
              ? ` and raw postMessage ${ms(raw.gaps[gap].latency.p50)} / ${ms(raw.gaps[gap].latency.p99)} / ${ms(raw.gaps[gap].latency.max)} ms`
              : '') +
            `, ${sg.latency.count} calls each, one at a time after a burst of 16 concurrent calls and three ≈3 ms calls. smartasync: ${where(sg)}; ${slowWords(sg)}. ` +
            `piscina: ${where(pg)}.`
          : undefined,
    });
  }
  // No call may wait for a timer to expire: a light call takes well under a millisecond, so a
  // call over 5 ms waited for something other than work.
  const all = (c: typeof s) => GAPS.map((g) => c?.gaps[g]).filter((x): x is NonNullable<typeof x> => !!x);
  const slowOf = (c: typeof s) => all(c).reduce((n, g) => n + g.slow.count, 0);
  const countOf = (c: typeof s) => all(c).reduce((n, g) => n + g.latency.count, 0);
  const sn = countOf(s);
  const share = sn ? slowOf(s) / sn : undefined;
  const okTimer = share === undefined ? undefined : share <= 0.01;
  const worst = all(s).sort((a, b) => b.slow.count - a.slow.count)[0];
  out.push({
    id: 'traffic-timer',
    target: 'Spaced calls: none waits for a timer (≤ 1% over 5 ms)',
    where: 'all gaps',
    value: `${pct(share)} (${slowOf(s)} of ${sn})`,
    required: `≤ 1% (piscina ${pct(countOf(p) ? slowOf(p) / countOf(p) : undefined)}, raw ${pct(countOf(raw) ? slowOf(raw) / countOf(raw) : undefined)})`,
    verdict: check(okTimer),
    why:
      okTimer === false && worst && s
        ? GAPS.filter((g) => s.gaps[g])
            .map((g) => `${GAP_LABEL[g]}: ${slowWords(s.gaps[g]!)}`)
            .join('; ') +
          '.' +
          (clustered(s)
            ? ' The slow calls sit in a narrow band (90th percentile under 1.5× the 10th): one fixed delay, not work, which for a call whose body runs in microseconds means a wait that ended on a timeout.'
            : '')
        : undefined,
  });
  return out;
}

function openLoopTargets(ol: OpenLoopResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  const s = ol.candidates.find((c) => c.id === SUBJECT && !c.error);
  const p = ol.candidates.find((c) => c.id === PEER && !c.error);
  for (const [k, rt] of ol.rates.entries()) {
    const sp = s?.points[k];
    const pp = p?.points[k];
    const okR = sp && pp ? sp.rec.latency.p99 <= pp.rec.latency.p99 : undefined;
    const over = (x: typeof sp) =>
      x && x.achieved < 0.95 * x.rate ? ` (completed only ${rate(x.achieved)} calls/s: over its saturation)` : '';
    out.push({
      id: 'traffic-openloop',
      target: 'Open-loop p99 ≤ piscina p99',
      where: `${rate(rt)} calls/s (${pct(rt / ol.saturation, 0)} of saturation)`,
      value: `${ms(sp?.rec.latency.p99)} ms (${ratio(sp?.rec.latency.p99, pp?.rec.latency.p99)})`,
      required: `≤ ${ms(pp?.rec.latency.p99)} ms (piscina p99)`,
      verdict: check(okR),
      why:
        okR === false && sp && pp
          ? `latency from the intended send time: smartasync p50 ${ms(sp.rec.latency.p50)} / p99 ${ms(sp.rec.latency.p99)} / p99.9 ${ms(sp.rec.latency.p999)} ms${over(sp)}, ` +
            `piscina ${ms(pp.rec.latency.p50)} / ${ms(pp.rec.latency.p99)} / ${ms(pp.rec.latency.p999)} ms${over(pp)}. ` +
            `smartasync: sender late by p99 ${ms(sp.rec.split.lag.p99)} ms (piscina ${ms(pp.rec.split.lag.p99)}), ${where(sp.rec)}; ${slowWords(sp.rec)}. ` +
            `piscina: ${where(pp.rec)}. Closed-loop throughput in this run: smartasync ${rate(s?.saturation)}, piscina ${rate(p?.saturation)} calls/s.`
          : undefined,
    });
  }
  return out;
}

function mixedTargets(mx: MixedResult): TargetCheck[] {
  const s = mx.candidates.find((c) => c.id === SUBJECT && !c.error);
  const p = mx.candidates.find((c) => c.id === PEER && !c.error);
  const raw = mx.candidates.find((c) => c.id === RAW && !c.error);
  const a = s?.alone?.latency.p99;
  const l = s?.loaded?.latency.p99;
  const okM = a !== undefined && l !== undefined ? l <= 2 * a : undefined;
  const peerWords = (c: typeof p, name: string) =>
    c?.alone && c.loaded
      ? `${name} ${ms(c.alone.latency.p99)} → ${ms(c.loaded.latency.p99)} ms (waiting for a worker p99 ${ms(c.loaded.split.queue.p99)} ms)`
      : '';
  return [
    {
      id: 'traffic-mixed',
      target: 'Light p99 under long calls ≤ 2× light alone',
      where: `${mx.workers} workers, ${mx.longCallers} callers of ${mx.longMs} ms calls`,
      value: `${ms(l)} ms`,
      required: `≤ ${ms(a === undefined ? undefined : 2 * a)} ms (2 × ${ms(a)} ms alone)`,
      verdict: check(okM),
      why:
        okM === false && s?.alone && s.loaded
          ? `under the long calls smartasync's light calls spent ${where(s.loaded)}; ${pct(s.loaded.latency.over5ms)} took over 5 ms (alone ${pct(s.alone.latency.over5ms)}). ` +
            `A long call runs ${ms(s.longRunMs?.loaded)} ms on its worker. ` +
            (s.alone.latency.p99 > 5
              ? `Light p99 alone is itself ${ms(s.alone.latency.p99)} ms (${where(s.alone)}): see the spaced calls. `
              : '') +
            `Long calls/s: ${rate(s.longAlone?.median)} alone, ${rate(s.longLoaded?.median)} with the light calls. ` +
            `For comparison, light p99 alone → under long calls: ${[peerWords(p, 'piscina'), peerWords(raw, 'raw postMessage')].filter(Boolean).join(', ')}.`
          : undefined,
    },
  ];
}

function appTargets(app: TrafficAppResult): TargetCheck[] {
  const out: TargetCheck[] = [];
  const get = (b: string, sc: string) => app.scenarios.find((x) => x.build === b && x.scenario === sc);
  const sA = get('smartasync', 'alone');
  const sR = get('smartasync', 'with-report');
  const mA = get('manual-piscina', 'alone');
  const mR = get('manual-piscina', 'with-report');
  const nA = get('naive', 'alone');
  const nR = get('naive', 'with-report');
  const okR = sA && sR ? sR.latency.p99 <= 2 * sA.latency.p99 : undefined;
  out.push({
    id: 'traffic-app-report',
    target: 'App: GET /users/:id p99 under the report ≤ 2× alone',
    where: `smartasync build, defaults; ${app.reportConnections} clients loop the report`,
    value: `${ms(sR?.latency.p99)} ms`,
    required: `≤ ${ms(sA ? 2 * sA.latency.p99 : undefined)} ms (2 × ${ms(sA?.latency.p99)} ms alone)`,
    verdict: check(okR),
    why:
      okR === false && sA && sR
        ? `one client looping GET /users/:id: p50 ${ms(sA.latency.p50)} → ${ms(sR.latency.p50)} ms, p99 ${ms(sA.latency.p99)} → ${ms(sR.latency.p99)} ms, ${pct(sA.latency.over5ms)} → ${pct(sR.latency.over5ms)} of requests over 5 ms, ` +
          `while the report ran at ${sR.report ? sR.report.requestsPerSec.toFixed(1) : '?'} req/s (p50 ${ms(sR.report?.p50Ms)} ms). ` +
          (sR.pool && sA.pool
            ? `The pool's statistics: calls waited ${ms(sR.pool.meanWaitMs)} ms on average for a worker (alone ${ms(sA.pool.meanWaitMs)} ms; longest ${ms(sR.pool.maxWaitMs)} ms). `
            : '') +
          (sR.loop
            ? `The server's event loop ran late by p99 ${ms(sR.loop.p99Ms)} ms (alone ${ms(sA.loop?.p99Ms)} ms). `
            : '') +
          `Manual piscina: ${ms(mA?.latency.p99)} → ${ms(mR?.latency.p99)} ms; naive (report on the event loop): ${ms(nA?.latency.p99)} → ${ms(nR?.latency.p99)} ms.`
        : undefined,
  });
  for (const rt of app.rates) {
    const sc = `open-${rt}`;
    const s = get('smartasync', sc);
    const m = get('manual-piscina', sc);
    const okO = s && m ? s.latency.p99 <= m.latency.p99 : undefined;
    out.push({
      id: 'traffic-app-open',
      target: 'App open-loop: GET /users/:id p99 ≤ manual piscina',
      where: `${rate(rt)} req/s, Poisson`,
      value: `${ms(s?.latency.p99)} ms (${ratio(s?.latency.p99, m?.latency.p99)})`,
      required: `≤ ${ms(m?.latency.p99)} ms (manual piscina p99)`,
      verdict: check(okO),
      why:
        okO === false && s && m
          ? `from the intended send time: smartasync p50 ${ms(s.latency.p50)} / p99 ${ms(s.latency.p99)} / p99.9 ${ms(s.latency.p999)} ms at ${rate(s.achieved)} req/s, manual piscina ${ms(m.latency.p50)} / ${ms(m.latency.p99)} / ${ms(m.latency.p999)} ms. ` +
            (s.pool
              ? `smartasync pool: calls waited ${ms(s.pool.meanWaitMs)} ms on average for a worker and ran ${ms(s.pool.meanRunMs)} ms. `
              : '') +
            (s.loop && m.loop
              ? `Server event-loop delay p99: smartasync ${ms(s.loop.p99Ms)}, manual piscina ${ms(m.loop.p99Ms)} ms. `
              : '') +
            `${pct(s.latency.over5ms)} of smartasync's requests over 5 ms (manual piscina ${pct(m.latency.over5ms)}).`
          : undefined,
    });
  }
  const fr = (b: FirstRequest['build']) => app.firstRequest.find((x) => x.build === b && !x.error);
  const main = fr('smartasync (npm start)');
  const bench = fr('smartasync');
  const naive = fr('naive');
  const manual = fr('manual-piscina');
  const okF = main ? main.firstMs <= 2 * main.warmMs : undefined;
  out.push({
    id: 'traffic-first',
    target: 'First request after start ≤ 2× a warm request',
    where: 'users API started as `npm start`',
    value: `${ms(main?.firstMs)} ms`,
    required: `≤ ${ms(main ? 2 * main.warmMs : undefined)} ms (2 × ${ms(main?.warmMs)} ms warm)`,
    verdict: check(okF),
    why:
      okF === false && main
        ? `first GET /users/:id on a new connection once the server listens (${main.starts.length} fresh start(s), median), against the median of 31 later requests each on a new connection: ` +
          `${ms(main.firstMs)} vs ${ms(main.warmMs)} ms (${ratio(main.firstMs, main.warmMs)}). ` +
          (naive
            ? `The naive build, with no worker at all, takes ${ms(naive.firstMs)} vs ${ms(naive.warmMs)} ms (${ratio(naive.firstMs, naive.warmMs)}): that much is the server's own cold path (Fastify's first request and the first query)` +
              (naive.firstMs > 2 * main.warmMs
                ? `, already over 2× smartasync's warm request by itself, so warm workers alone cannot meet this target: the request path on the main thread needs warming too. `
                : '. ')
            : '') +
          (manual
            ? `Manual piscina: ${ms(manual.firstMs)} vs ${ms(manual.warmMs)} ms (${ratio(manual.firstMs, manual.warmMs)}). `
            : '') +
          (bench
            ? `The benchmark's smartasync server (buildApp, then listen): ${ms(bench.firstMs)} vs ${ms(bench.warmMs)} ms. `
            : '') +
          threadWords(main) +
          (naive ? ` The first request costs ${ms(main.firstMs - naive.firstMs)} ms more than the naive build's.` : '')
        : undefined,
  });
  return out;
}

/** What /proc said about the server's worker threads around its first request. */
function threadWords(f: FirstRequest): string {
  const at = f.starts.map((x) => x.workersAtFirst).filter((x): x is number => x !== undefined);
  const after = f.starts.map((x) => x.workersAfterFirst).filter((x): x is number => x !== undefined);
  if (!at.length) return '';
  const list = (xs: number[]) => [...new Set(xs)].join(' or ');
  return `The server process had ${list(at)} worker thread(s) when the first request was sent and ${list(after)} once it was answered (from /proc/<pid>/task)${
    Math.max(...at) === 0 && Math.min(...after) > 0
      ? ': its workers were started by the first request, not before listening.'
      : '.'
  }`;
}

function idleTargets(idle: IdleResult): TargetCheck[] {
  const get = (id: string) => idle.candidates.find((c) => c.id === id && !c.error);
  const s = get(SUBJECT);
  const p = get(PEER);
  const n = get('node');
  const okI = s?.coreShare !== undefined ? s.coreShare <= 0.01 : undefined;
  return [
    {
      id: 'traffic-idle',
      target: 'Idle pool CPU ≤ 1% of one core',
      where: `${idle.workers} warm workers, ${idle.seconds} s`,
      value: pct(s?.coreShare, 2),
      required: `≤ 1% (piscina ${pct(p?.coreShare, 2)}, Node with no pool ${pct(n?.coreShare, 2)})`,
      verdict: check(okI),
      why:
        okI === false && s
          ? `${ms(s.cpuMs)} ms of CPU in ${idle.seconds} s` +
            (s.threads
              ? `: main thread ${ms(s.threads.main)} ms, workers ${ms(s.threads.workers)} ms, Node's helper threads ${ms(s.threads.other)} ms`
              : '') +
            (s.wakeupsPerS
              ? `; the workers were switched in ${s.wakeupsPerS.workers.toFixed(0)} times a second (piscina's ${p?.wakeupsPerS ? p.wakeupsPerS.workers.toFixed(0) : '?'}), the main thread ${s.wakeupsPerS.main.toFixed(0)}`
              : '') +
            '.'
          : undefined,
    },
  ];
}

export function trafficTargets(r: Results): TargetCheck[] {
  const t = traffic(r);
  if (!t) return [];
  const out: TargetCheck[] = [];
  const sp = ok(t.spaced);
  if (sp) out.push(...spacedTargets(sp));
  const ol = ok(t.openloop);
  if (ol) out.push(...openLoopTargets(ol));
  const mx = ok(t.mixed);
  if (mx) out.push(...mixedTargets(mx));
  const app = ok(t.app);
  if (app) out.push(...appTargets(app));
  const idle = ok(t.idle);
  if (idle) out.push(...idleTargets(idle));
  return out;
}

// ---- tables ------------------------------------------------------------------------------

function name(id: string): string {
  return id === SUBJECT ? `**${id}**` : id;
}

function failed<T>(part: T | { error: string } | undefined): string | undefined {
  if (!part) return '_not run_';
  if (typeof part === 'object' && part !== null && 'error' in part)
    return `_failed: ${String(part.error).split('\n')[0]}_`;
  return undefined;
}

function startWords(c: { start?: { method: string; ms: number; workers?: number } }): string {
  if (!c.start) return '–';
  return `${c.start.method}, ${ms(c.start.ms)} ms${c.start.workers !== undefined ? `, ${c.start.workers} workers up` : ''}`;
}

function spacedTable(t: TrafficResult): string {
  const f = failed(t.spaced);
  if (f) return f;
  const sp = t.spaced as SpacedResult;
  const rows: string[][] = [];
  for (const c of sp.candidates) {
    if (c.error) {
      rows.push([name(c.id), '', `_${c.error}_`, '', '', '', '', '', '']);
      continue;
    }
    for (const g of GAPS) {
      const x = c.gaps[g];
      if (!x) continue;
      rows.push([
        name(c.id),
        g,
        ms(x.latency.p50),
        `${ms(x.latency.p99)} <sub>${ms(x.p99Rounds.min)}–${ms(x.p99Rounds.max)}</sub>`,
        ms(x.latency.max),
        pct(x.latency.over5ms),
        `${ms(x.split.queue.p50)} / ${ms(x.split.queue.p99)}`,
        `${ms(x.split.reply.p50)} / ${ms(x.split.reply.p99)}`,
        String(x.latency.count),
      ]);
    }
  }
  return (
    `${sp.rounds} round(s) × ${sp.calls} calls per gap, pool of ${sp.workers} workers, candidates interleaved. Before each gap's calls the state is driven: ` +
    `16 concurrent light calls, then two ≈3 ms calls at once and one alone. Each call is awaited, then the gap (\`setImmediate\`, \`setTimeout(1)\`, \`setTimeout(10)\`) ` +
    `before the next. Percentiles over every call of every round (HdrHistogram); p99 in small print is the min–max of the per-round p99. ` +
    `"to start" = from the call to the body starting on a worker; "reply" = from the body's end to the caller's promise settling.\n\n` +
    table(
      [
        'candidate',
        'gap',
        'p50 ms',
        'p99 ms',
        'max ms',
        '> 5 ms',
        'to start p50 / p99 ms',
        'reply p50 / p99 ms',
        'calls',
      ],
      rows,
    ) +
    `\n\nHow each pool was started: ${sp.candidates.map((c) => `${c.id}: ${startWords(c)}`).join('; ')}.`
  );
}

function openLoopTable(t: TrafficResult): string {
  const f = failed(t.openloop);
  if (f) return f;
  const ol = t.openloop as OpenLoopResult;
  const rows: string[][] = [];
  for (const c of ol.candidates) {
    if (c.error) {
      rows.push([name(c.id), '', `_${c.error}_`, '', '', '', '', '', '', '']);
      continue;
    }
    for (const pt of c.points) {
      const l = pt.rec.latency;
      rows.push([
        name(c.id),
        rate(pt.rate),
        rate(pt.achieved),
        ms(l.p50),
        `${ms(l.p99)} <sub>${ms(pt.p99Rounds.min)}–${ms(pt.p99Rounds.max)}</sub>`,
        ms(l.p999),
        ms(l.max),
        `${ms(pt.rec.split.lag.p50)} / ${ms(pt.rec.split.lag.p99)}`,
        `${ms(pt.rec.split.queue.p99)} / ${ms(pt.rec.split.reply.p99)}`,
        String(l.count),
      ]);
    }
  }
  const sat = ol.candidates.map((c) => `${c.id} ${rate(c.saturation)}`).join(', ');
  return (
    `Each call runs ≈${ol.workMs * 1000} µs of synchronous CPU (${ol.workIters} iterations) on a pool of ${ol.workers} workers. ` +
    `Saturation, measured first in this run as closed-loop throughput with ${ol.inFlight} calls in flight: ${sat} calls/s. ` +
    `Offered rates are fractions of the lowest (${rate(ol.saturation)}); arrivals are Poisson with the same seeded schedule for every candidate, ` +
    `${ol.rounds} round(s) × ${ol.seconds} s per rate. Latency counts from each call's **intended** send time, so a sender held up by a busy event loop ` +
    `does not hide the queueing it caused (no coordinated omission); "sender late" is how far after its intended time the call was actually made ` +
    `(the sender runs on timers of ≈1 ms resolution, the same for every candidate).\n\n` +
    table(
      [
        'candidate',
        'offered /s',
        'done /s',
        'p50 ms',
        'p99 ms',
        'p99.9 ms',
        'max ms',
        'sender late p50 / p99 ms',
        'p99 to start / reply ms',
        'calls',
      ],
      rows,
    )
  );
}

function mixedTable(t: TrafficResult): string {
  const f = failed(t.mixed);
  if (f) return f;
  const mx = t.mixed as MixedResult;
  const rows = mx.candidates.map((c) =>
    c.error || !c.alone || !c.loaded
      ? [name(c.id), `_${c.error ?? 'no data'}_`, '', '', '', '', '', '', '']
      : [
          name(c.id),
          `${ms(c.alone.latency.p50)} / ${ms(c.alone.latency.p99)} / ${ms(c.alone.latency.max)}`,
          `${ms(c.loaded.latency.p50)} / ${ms(c.loaded.latency.p99)} / ${ms(c.loaded.latency.max)}`,
          ratio(c.loaded.latency.p99, c.alone.latency.p99),
          pct(c.loaded.latency.over5ms),
          `${ms(c.loaded.split.queue.p50)} / ${ms(c.loaded.split.queue.p99)}`,
          `${rate(c.longAlone?.median)} / ${rate(c.longLoaded?.median)}`,
          `${ms(c.longRunMs?.alone)} / ${ms(c.longRunMs?.loaded)}`,
          String(c.loaded.latency.count),
        ],
  );
  return (
    `Pool of ${mx.workers} workers. Per round and candidate, three phases of ${mx.seconds} s: light calls alone (a trivial call every ${mx.lightEveryMs} ms, sent on schedule ` +
    `whether or not earlier ones have settled); long calls alone (${mx.longCallers} closed-loop callers of a ≈${mx.longMs} ms synchronous call, ${mx.longIters} iterations); both at once. ` +
    `${mx.rounds} round(s), candidates interleaved; light latency from each call, over every call of every round.\n\n` +
    table(
      [
        'candidate',
        'light alone p50 / p99 / max ms',
        'light under long calls p50 / p99 / max ms',
        'p99 ratio',
        'light > 5 ms',
        'light to start p50 / p99 ms',
        'long calls/s alone / with light',
        'long call run ms alone / with light',
        'light calls',
      ],
      rows,
    )
  );
}

function idleTable(t: TrafficResult): string {
  const f = failed(t.idle);
  if (f) return f;
  const idle = t.idle as IdleResult;
  const rows = idle.candidates.map((c) =>
    c.error
      ? [name(c.id), `_${c.error}_`, '', '', '', '', '', '', '']
      : [
          name(c.id),
          c.id === 'node' ? '–' : startWords(c),
          ms(c.firstCallMs),
          ms(c.warmCallMs),
          pct(c.coreShare, 2),
          c.threads ? `${ms(c.threads.main)} / ${ms(c.threads.workers)} / ${ms(c.threads.other)}` : '–',
          c.wakeupsPerS ? `${c.wakeupsPerS.main.toFixed(0)} / ${c.wakeupsPerS.workers.toFixed(0)}` : '–',
          ms(c.afterIdleCallMs),
          c.workers === undefined ? '–' : String(c.workers),
        ],
  );
  return (
    `One process per candidate, started one after another; each starts its pool of ${idle.workers} (warm where the candidate can), times its first call and 20 more, ` +
    `makes sure every worker is up, then all idle together for ${idle.seconds} s. CPU is the whole process's (\`process.cpuUsage()\`), split by thread from \`/proc/self/task/*/schedstat\`; ` +
    `switches are context switches per second (\`/proc/self/task/*/status\`): how often the threads wake. \`node\` is a Node process with no pool, the floor.\n\n` +
    table(
      [
        'candidate',
        'start',
        'first call ms',
        'warm call ms',
        'idle CPU (share of a core)',
        'CPU ms main / workers / helpers',
        'switches/s main / workers',
        'call after idle ms',
        'workers',
      ],
      rows,
    )
  );
}

function appTable(t: TrafficResult): string {
  const f = failed(t.app);
  if (f) return f;
  const app = t.app as TrafficAppResult;
  const order = (s: AppScenarioFigures) =>
    s.scenario === 'alone' ? 0 : s.scenario === 'with-report' ? 1 : 2 + (s.rate ?? 0) / 1e9;
  const rows = [...app.scenarios]
    .sort((a, b) => order(a) - order(b) || a.build.localeCompare(b.build))
    .map((s) => [
      s.scenario,
      name(s.build),
      rate(s.achieved),
      ms(s.latency.p50),
      `${ms(s.latency.p99)} <sub>${ms(s.p99Rounds.min)}–${ms(s.p99Rounds.max)}</sub>`,
      ms(s.latency.p999),
      ms(s.latency.max),
      pct(s.latency.over5ms),
      s.report ? `${s.report.requestsPerSec.toFixed(1)} / ${ms(s.report.p50Ms)}` : '–',
      s.loop ? ms(s.loop.p99Ms) : '–',
      s.pool ? ms(s.pool.meanWaitMs) : '–',
      String(s.errors),
    ]);
  const threads = (x: FirstRequest) => {
    const at = [...new Set(x.starts.map((s) => s.workersAtFirst))].join('/');
    const after = [...new Set(x.starts.map((s) => s.workersAfterFirst))].join('/');
    return at ? `${at} → ${after}` : '–';
  };
  const first = app.firstRequest.map((x) =>
    x.error
      ? [x.build, `_${x.error}_`, '', '', '', '', '']
      : [
          x.build === 'smartasync (npm start)' ? `**${x.build}**` : x.build,
          x.entry,
          ms(x.listenMs),
          ms(x.firstMs),
          ms(x.warmMs),
          ratio(x.firstMs, x.warmMs),
          threads(x),
        ],
  );
  const builds = app.builds.map((b) => `- \`${b.build}\`: ${b.note}`).join('\n');
  return (
    `Each build in its own server process on 127.0.0.1 (SQLite, 1,000 users). \`alone\`: ${app.lightConnections} client looping \`GET /users/:id\` (random ids) for ${app.seconds} s, each request sent once the previous response is read (undici); ` +
    `\`with-report\`: the same while ${app.reportConnections} clients loop \`GET /reports/users\` (≈40 ms of synchronous work each); ` +
    `\`open-N\`: Poisson arrivals at N req/s for ${app.openSeconds} s from an open-loop client on undici (up to 32 connections), latency from each request's intended send time. ` +
    `${app.rounds} round(s), builds interleaved; percentiles over every request of every round (HdrHistogram), p99 in small print the min–max over rounds. ` +
    `Server and load generator share the 2 cores.\n\n${builds}\n\n` +
    table(
      [
        'scenario',
        'build',
        'req/s',
        'p50 ms',
        'p99 ms',
        'p99.9 ms',
        'max ms',
        '> 5 ms',
        'report req/s / p50 ms',
        'server loop delay p99 ms',
        'pool wait ms/call',
        'errors',
      ],
      rows,
    ) +
    `\n\n**First request after start.** A fresh server per start; the first \`GET /users/:id\` once it listens, on a new connection, against the median of 31 requests ` +
    `(each on a new connection) after a warm-up. Median over the starts.\n\n` +
    table(
      [
        'server',
        'started as',
        'spawn → listening ms',
        'first request ms',
        'warm request ms',
        'first / warm',
        'worker threads before → after the first request',
      ],
      first,
    ) +
    (app.errors.length ? `\n\nErrors: ${app.errors.map((e) => `${e.build}: ${e.error}`).join('; ')}` : '')
  );
}

export function trafficMarkdown(r: Results, chart: (name: string) => string): string {
  if (!r.traffic) return '_not run (`--sections=traffic`)_';
  if ('error' in r.traffic) return `_failed: ${r.traffic.error.split('\n')[0]}_`;
  const t = r.traffic;
  return `smartasync (\`${SUBJECT}\`) against piscina with its defaults (\`${PEER}\`) and a hand-written \`worker_threads\` pool (\`${RAW}\`), each with ${t.params.workers} workers, all in one process per scenario and interleaved in rounds; unpinned (a server uses both cores). Targets of issue 7 are in the table at the top.

### 6.1 Spaced calls

${chart('traffic-spaced')}${spacedTable(t)}

### 6.2 Open-loop arrivals

${chart('traffic-openloop')}${openLoopTable(t)}

### 6.3 Light calls among long calls

${chart('traffic-mixed')}${mixedTable(t)}

### 6.4 The users API under traffic

${chart('traffic-app')}${appTable(t)}

### 6.5 Idle cost and first call

${idleTable(t)}
`;
}

// ---- charts ------------------------------------------------------------------------------

type Datum = Record<string, string | number>;
const CANDIDATE_COLORS = {
  domain: ['★ smartasync', 'piscina:default', 'raw:postMessage'],
  range: ['#e45756', '#4c78a8', '#72b7b2'],
};
const label = (id: string) => (id === SUBJECT ? `★ ${id}` : id);

// Latencies here span four orders of magnitude, so a log scale, and dots rather than bars
// (a bar on a log scale has no zero to start from).
function panel(
  field: string,
  title: string,
  yField: string,
  ySort: string[] | null,
  offset: string,
  offsetSort: string[],
  color: object,
  width = 240,
): object {
  return {
    width,
    encoding: {
      y: { field: yField, type: 'nominal', title: null, sort: ySort },
      yOffset: { field: offset, sort: offsetSort },
      color,
    },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 60, opacity: 1 },
        encoding: { x: { field, type: 'quantitative', title, scale: { type: 'log' } } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 6, fontSize: 8 },
        encoding: {
          x: { field, type: 'quantitative' },
          text: { field, type: 'quantitative', format: '.3~r' },
          color: { value: '#222' },
        },
      },
    ],
  };
}

export function trafficCharts(
  r: Results,
  base: (title: string, subtitle: string) => Partial<TopLevelSpec>,
): Record<string, TopLevelSpec> {
  const t = traffic(r);
  const specs: Record<string, TopLevelSpec> = {};
  if (!t) return specs;
  const date = `Node ${r.meta.node}, ${r.meta.cpus} cores, ${r.meta.size} run ${r.meta.date.slice(0, 10)}`;
  const cands = CANDIDATE_COLORS.domain;
  const sp = ok(t.spaced);
  if (sp) {
    const values: Datum[] = sp.candidates.flatMap((c) =>
      GAPS.flatMap((g) =>
        c.gaps[g]
          ? [
              {
                candidate: label(c.id),
                gap: g,
                p50: c.gaps[g].latency.p50,
                p99: c.gaps[g].latency.p99,
                max: c.gaps[g].latency.max,
              },
            ]
          : [],
      ),
    );
    const color = {
      field: 'candidate',
      type: 'nominal',
      title: null,
      scale: CANDIDATE_COLORS,
      legend: { orient: 'bottom' },
    };
    specs['traffic-spaced'] = {
      ...base(
        'Spaced calls: one light call at a time, a gap between calls',
        `ms, log scale, lower is better · every call of every round · ${date}`,
      ),
      data: { values },
      hconcat: ['p50', 'p99', 'max'].map((k) => panel(k, `${k} ms`, 'gap', [...GAPS], 'candidate', cands, color, 200)),
    } as TopLevelSpec;
  }
  const ol = ok(t.openloop);
  if (ol) {
    const values: Datum[] = ol.candidates.flatMap((c) =>
      c.points.map((pt) => ({
        candidate: label(c.id),
        rate: pt.rate,
        p50: pt.rec.latency.p50,
        p99: pt.rec.latency.p99,
        p999: pt.rec.latency.p999,
      })),
    );
    const line = (k: string, title: string) => ({
      width: 230,
      height: 200,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'rate', type: 'quantitative', title: 'offered calls/s (Poisson)', scale: { type: 'log' } },
        y: { field: k, type: 'quantitative', title, scale: { type: 'log' } },
        color: {
          field: 'candidate',
          type: 'nominal',
          title: null,
          scale: CANDIDATE_COLORS,
          legend: { orient: 'bottom' },
        },
      },
    });
    specs['traffic-openloop'] = {
      ...base(
        'Open-loop arrivals: latency from the intended send time',
        `ms, log scale, lower is better · ≈${ol.workMs * 1000} µs calls, ${ol.workers} workers · ${date}`,
      ),
      data: { values },
      hconcat: [line('p50', 'p50 ms'), line('p99', 'p99 ms'), line('p999', 'p99.9 ms')],
    } as TopLevelSpec;
  }
  const mx = ok(t.mixed);
  if (mx) {
    const values: Datum[] = mx.candidates.flatMap((c) =>
      c.alone && c.loaded
        ? [
            {
              candidate: label(c.id),
              phase: 'light alone',
              p99: c.alone.latency.p99,
              longPerS: c.longAlone?.median ?? Number.NaN,
            },
            {
              candidate: label(c.id),
              phase: 'with long calls',
              p99: c.loaded.latency.p99,
              longPerS: c.longLoaded?.median ?? Number.NaN,
            },
          ]
        : [],
    );
    const color = {
      field: 'phase',
      type: 'nominal',
      title: null,
      scale: { domain: ['light alone', 'with long calls'], range: ['#4c78a8', '#e45756'] },
      legend: { orient: 'bottom' },
    };
    const longBars = {
      width: 200,
      transform: [{ filter: 'isValid(datum.longPerS) && datum.longPerS > 0' }],
      encoding: {
        y: { field: 'candidate', type: 'nominal', title: null, sort: cands },
        yOffset: { field: 'phase', sort: ['light alone', 'with long calls'] },
        color,
      },
      layer: [
        {
          mark: { type: 'bar', height: { band: 0.4 } },
          encoding: {
            x: { field: 'longPerS', type: 'quantitative', title: 'long calls/s (alone / with light calls)' },
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 3, fontSize: 8 },
          encoding: {
            x: { field: 'longPerS', type: 'quantitative' },
            text: { field: 'longPerS', format: '.3~r' },
            color: { value: '#222' },
          },
        },
      ],
    };
    specs['traffic-mixed'] = {
      ...base(
        'Light calls among long ones',
        `light p99 ms (log) alone and while ${mx.longCallers} callers keep ${mx.workers} workers busy with ${mx.longMs} ms calls · ${date}`,
      ),
      data: { values },
      hconcat: [
        panel('p99', 'light p99 ms', 'candidate', cands, 'phase', ['light alone', 'with long calls'], color, 260),
        longBars,
      ],
    } as TopLevelSpec;
  }
  const app = ok(t.app);
  if (app) {
    const builds = ['★ smartasync', 'manual-piscina', 'naive'];
    const bl = (b: string) => (b === SUBJECT ? `★ ${b}` : b);
    const closed: Datum[] = app.scenarios
      .filter((s) => s.scenario === 'alone' || s.scenario === 'with-report')
      .map((s) => ({
        build: bl(s.build),
        scenario: s.scenario === 'alone' ? 'alone' : 'with the report',
        p99: s.latency.p99,
      }));
    const open: Datum[] = app.scenarios
      .filter((s) => s.rate !== undefined)
      .map((s) => ({ build: bl(s.build), rate: s.rate!, p99: s.latency.p99 }));
    const buildColors = { domain: builds, range: ['#e45756', '#4c78a8', '#bab0ac'] };
    const color = {
      field: 'scenario',
      type: 'nominal',
      title: null,
      scale: { domain: ['alone', 'with the report'], range: ['#4c78a8', '#e45756'] },
      legend: { orient: 'bottom' },
    };
    specs['traffic-app'] = {
      // Two views with their own data: nothing shared (a shared yOffset would merge two sort orders).
      resolve: { scale: { color: 'independent', x: 'independent', y: 'independent', yOffset: 'independent' } },
      ...base(
        'Users API: GET /users/:id p99',
        `ms, log scale · left: one client looping, alone and with the report · right: open loop · ${date}`,
      ),
      hconcat: [
        {
          data: { values: closed },
          ...panel(
            'p99',
            'p99 ms, one client looping',
            'build',
            builds,
            'scenario',
            ['alone', 'with the report'],
            color,
            260,
          ),
        },
        {
          data: { values: open },
          width: 240,
          height: 160,
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'rate', type: 'quantitative', title: 'offered req/s (Poisson)', scale: { type: 'log' } },
            y: { field: 'p99', type: 'quantitative', title: 'open-loop p99 ms', scale: { type: 'log' } },
            color: { field: 'build', type: 'nominal', title: null, scale: buildColors, legend: { orient: 'bottom' } },
          },
        },
      ],
    } as TopLevelSpec;
  }
  return specs;
}
