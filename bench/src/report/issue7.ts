// Section 6 of results.md (server traffic, issue 7): the target verdicts with their measured reasons,
// the tables and the charts.
import type { Recorded } from '../lib/stats.ts';
import { ok, type Results, type TrafficResult } from '../results.ts';
import type { FirstRequest, TrafficAppResult } from '../traffic/app.ts';
import type { IdleCandidate } from '../traffic/idle.ts';
import { GAPS, type Gap, type SpacedResult } from '../traffic/spaced.ts';
import {
  base,
  bold,
  failed,
  legend,
  ms,
  pct,
  rate6 as rate,
  ratio,
  runLine,
  star,
  table,
  target,
  valueText,
} from './format.ts';
import type { Datum, Spec, TargetCheck } from './format.ts';

const [SUBJECT, PEER, RAW] = ['smartasync', 'piscina:default', 'raw:postMessage'];
const GAP_LABEL: Record<Gap, string> = {
  setImmediate: 'setImmediate gap',
  '1ms': '1 ms timer gap',
  '10ms': '10 ms timer gap',
};
const get = <C extends { id: string; error?: string }>(cs: C[], id: string) => cs.find((c) => c.id === id && !c.error);

/** Where a distribution's time went, in words: the measured reason behind a tail. */
const where = ({ split: s }: Recorded) =>
  `waiting to start on a worker p50 ${ms(s.queue.p50)} / p99 ${ms(s.queue.p99)} ms, running p50 ${ms(s.run.p50)} ms, reply delivery (end of the body to the caller's promise settling) p50 ${ms(s.reply.p50)} / p99 ${ms(s.reply.p99)} ms`;

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

function spacedTargets(sp: SpacedResult): TargetCheck[] {
  const [s, p, raw] = [SUBJECT, PEER, RAW].map((id) => get(sp.candidates, id));
  const out = GAPS.map((gap) => {
    const [sg, pg, rg] = [s?.gaps[gap], p?.gaps[gap], raw?.gaps[gap]];
    const goal = sg && pg ? (sg.latency.p99 <= pg.latency.p99 / 2 ? ', goal met' : ', goal not met') : '';
    const required = `≤ ${ms(pg?.latency.p99)} ms (piscina p99; goal ≤ ${ms(pg ? pg.latency.p99 / 2 : undefined)} ms${goal})`;
    const row = `traffic-spaced|Spaced calls: p99 ≤ piscina p99 (goal ≤ ½)|${GAP_LABEL[gap]}|${ms(sg?.latency.p99)} ms (${ratio(sg?.latency.p99, pg?.latency.p99)})|${required}`;
    return target(sg && pg ? sg.latency.p99 <= pg.latency.p99 : undefined, row, () => {
      if (!sg || !pg) return undefined;
      const raw = rg
        ? ` and raw postMessage ${ms(rg.latency.p50)} / ${ms(rg.latency.p99)} / ${ms(rg.latency.max)} ms`
        : '';
      return (
        `smartasync p50 ${ms(sg.latency.p50)} / p99 ${ms(sg.latency.p99)} / max ${ms(sg.latency.max)} ms against piscina ${ms(pg.latency.p50)} / ${ms(pg.latency.p99)} / ${ms(pg.latency.max)} ms${raw}, ` +
        `${sg.latency.count} calls each, one at a time after a burst of 16 concurrent calls and three ≈3 ms calls. smartasync: ${where(sg)}; ${slowWords(sg)}. piscina: ${where(pg)}.`
      );
    });
  });
  // No call may wait for a timer: a light call takes well under a millisecond, so one over 5 ms waited for something else.
  const all = (c: typeof s) => GAPS.flatMap((g) => (c?.gaps[g] ? [c.gaps[g]] : []));
  const slowOf = (c: typeof s) => all(c).reduce((n, g) => n + g.slow.count, 0);
  const countOf = (c: typeof s) => all(c).reduce((n, g) => n + g.latency.count, 0);
  const share = (c: typeof s) => (countOf(c) ? slowOf(c) / countOf(c) : undefined);
  // The slow calls in a narrow band (90th percentile under 1.5× the 10th): one fixed delay, not work.
  const bands = all(s).flatMap((g) => (g.slow.count >= 3 ? [g.slow] : []));
  const clustered = bands.length > 0 && bands.every((x) => x.p90Ms < 1.5 * x.p10Ms);
  const timerRow = `traffic-timer|Spaced calls: none waits for a timer (≤ 1% over 5 ms)|all gaps|${pct(share(s))} (${slowOf(s)} of ${countOf(s)})|≤ 1% (piscina ${pct(share(p))}, raw ${pct(share(raw))})`;
  const narrow =
    ' The slow calls sit in a narrow band (90th percentile under 1.5× the 10th): one fixed delay, not work, which for a call whose body runs in microseconds means a wait that ended on a timeout.';
  const words = (c: NonNullable<typeof s>) =>
    GAPS.filter((g) => c.gaps[g]).map((g) => `${GAP_LABEL[g]}: ${slowWords(c.gaps[g]!)}`);
  out.push(
    target(
      share(s) === undefined ? undefined : share(s)! <= 0.01,
      timerRow,
      () => s && `${words(s).join('; ')}.${clustered ? narrow : ''}`,
    ),
  );
  return out;
}

export function issue7Targets(r: Results): TargetCheck[] {
  const t = ok(r.traffic);
  if (!t) return [];
  const [sp, ol, mx, app, idle] = [ok(t.spaced), ok(t.openloop), ok(t.mixed), ok(t.app), ok(t.idle)];
  const out: TargetCheck[] = sp ? spacedTargets(sp) : [];
  for (const [k, rt] of (ol?.rates ?? []).entries()) {
    const [s, p] = [get(ol!.candidates, SUBJECT), get(ol!.candidates, PEER)];
    const [a, b] = [s?.points[k]?.rec, p?.points[k]?.rec];
    const over = (x: { achieved: number; rate: number } | undefined) =>
      x && x.achieved < 0.95 * x.rate ? ` (completed only ${rate(x.achieved)} calls/s: over its saturation)` : '';
    const [so, po] = [over(s?.points[k]), over(p?.points[k])];
    const row = `traffic-openloop|Open-loop p99 ≤ piscina p99|${rate(rt)} calls/s (${pct(rt / ol!.saturation, 0)} of saturation)|${ms(a?.latency.p99)} ms (${ratio(a?.latency.p99, b?.latency.p99)})|≤ ${ms(b?.latency.p99)} ms (piscina p99)`;
    out.push(
      target(a && b ? a.latency.p99 <= b.latency.p99 : undefined, row, () =>
        a && b
          ? `latency from the intended send time: smartasync p50 ${ms(a.latency.p50)} / p99 ${ms(a.latency.p99)} / p99.9 ${ms(a.latency.p999)} ms${so}, piscina ${ms(b.latency.p50)} / ${ms(b.latency.p99)} / ${ms(b.latency.p999)} ms${po}. ` +
            `smartasync: sender late by p99 ${ms(a.split.lag.p99)} ms (piscina ${ms(b.split.lag.p99)}), ${where(a)}; ${slowWords(a)}. ` +
            `piscina: ${where(b)}. Closed-loop throughput in this run: smartasync ${rate(s?.saturation)}, piscina ${rate(p?.saturation)} calls/s.`
          : undefined,
      ),
    );
  }
  if (mx) {
    const [s, p, raw] = [SUBJECT, PEER, RAW].map((id) => get(mx.candidates, id));
    const [a, l] = [s?.alone?.latency.p99, s?.loaded?.latency.p99];
    const peer = (c: typeof p, name: string) =>
      c?.alone && c.loaded
        ? `${name} ${ms(c.alone.latency.p99)} → ${ms(c.loaded.latency.p99)} ms (waiting for a worker p99 ${ms(c.loaded.split.queue.p99)} ms)`
        : '';
    const row = `traffic-mixed|Light p99 under long calls ≤ 2× light alone|${mx.workers} workers, ${mx.longCallers} callers of ${mx.longMs} ms calls|${ms(l)} ms|≤ ${ms(a === undefined ? undefined : 2 * a)} ms (2 × ${ms(a)} ms alone)`;
    out.push(
      target(a !== undefined && l !== undefined ? l <= 2 * a : undefined, row, () =>
        s?.alone && s.loaded
          ? `under the long calls smartasync's light calls spent ${where(s.loaded)}; ${pct(s.loaded.latency.over5ms)} took over 5 ms (alone ${pct(s.alone.latency.over5ms)}). A long call runs ${ms(s.longRunMs?.loaded)} ms on its worker. ` +
            `${s.alone.latency.p99 > 5 ? `Light p99 alone is itself ${ms(s.alone.latency.p99)} ms (${where(s.alone)}): see the spaced calls. ` : ''}` +
            `Long calls/s: ${rate(s.longAlone?.median)} alone, ${rate(s.longLoaded?.median)} with the light calls. ` +
            `For comparison, light p99 alone → under long calls: ${[peer(p, 'piscina'), peer(raw, 'raw postMessage')].filter(Boolean).join(', ')}.`
          : undefined,
      ),
    );
  }
  if (app) out.push(...appTargets(app));
  if (idle) {
    const [s, p, n] = [SUBJECT, PEER, 'node'].map((id) => get(idle.candidates, id));
    const row = `traffic-idle|Idle pool CPU ≤ 1% of one core|${idle.workers} warm workers, ${idle.seconds} s|${pct(s?.coreShare, 2)}|≤ 1% (piscina ${pct(p?.coreShare, 2)}, Node with no pool ${pct(n?.coreShare, 2)})`;
    const [th, w] = [s?.threads, s?.wakeupsPerS];
    out.push(
      target(s?.coreShare !== undefined ? s.coreShare <= 0.01 : undefined, row, () =>
        s
          ? `${ms(s.cpuMs)} ms of CPU in ${idle.seconds} s${th ? `: main thread ${ms(th.main)} ms, workers ${ms(th.workers)} ms, Node's helper threads ${ms(th.other)} ms` : ''}` +
            `${w ? `; the workers were switched in ${w.workers.toFixed(0)} times a second (piscina's ${p?.wakeupsPerS ? p.wakeupsPerS.workers.toFixed(0) : '?'}), the main thread ${w.main.toFixed(0)}` : ''}.`
          : undefined,
      ),
    );
  }
  return out;
}

function appTargets(app: TrafficAppResult): TargetCheck[] {
  const sc = (b: string, s: string) => app.scenarios.find((x) => x.build === b && x.scenario === s);
  const [sA, sR, mA, mR, nA, nR] = ['smartasync', 'manual-piscina', 'naive'].flatMap((b) => [
    sc(b, 'alone'),
    sc(b, 'with-report'),
  ]);
  const row = `traffic-app-report|App: GET /users/:id p99 under the report ≤ 2× alone|smartasync build, defaults; ${app.reportConnections} clients loop the report|${ms(sR?.latency.p99)} ms|≤ ${ms(sA ? 2 * sA.latency.p99 : undefined)} ms (2 × ${ms(sA?.latency.p99)} ms alone)`;
  const out = [
    target(sA && sR ? sR.latency.p99 <= 2 * sA.latency.p99 : undefined, row, () =>
      sA && sR
        ? `one client looping GET /users/:id: p50 ${ms(sA.latency.p50)} → ${ms(sR.latency.p50)} ms, p99 ${ms(sA.latency.p99)} → ${ms(sR.latency.p99)} ms, ${pct(sA.latency.over5ms)} → ${pct(sR.latency.over5ms)} of requests over 5 ms, ` +
          `while the report ran at ${sR.report ? sR.report.requestsPerSec.toFixed(1) : '?'} req/s (p50 ${ms(sR.report?.p50Ms)} ms). ` +
          `${sR.pool && sA.pool ? `The pool's statistics: calls waited ${ms(sR.pool.meanWaitMs)} ms on average for a worker (alone ${ms(sA.pool.meanWaitMs)} ms; longest ${ms(sR.pool.maxWaitMs)} ms). ` : ''}` +
          `${sR.loop ? `The server's event loop ran late by p99 ${ms(sR.loop.p99Ms)} ms (alone ${ms(sA.loop?.p99Ms)} ms). ` : ''}` +
          `Manual piscina: ${ms(mA?.latency.p99)} → ${ms(mR?.latency.p99)} ms; naive (report on the event loop): ${ms(nA?.latency.p99)} → ${ms(nR?.latency.p99)} ms.`
        : undefined,
    ),
  ];
  for (const rt of app.rates) {
    const [s, m] = [sc('smartasync', `open-${rt}`), sc('manual-piscina', `open-${rt}`)];
    const row = `traffic-app-open|App open-loop: GET /users/:id p99 ≤ manual piscina|${rate(rt)} req/s, Poisson|${ms(s?.latency.p99)} ms (${ratio(s?.latency.p99, m?.latency.p99)})|≤ ${ms(m?.latency.p99)} ms (manual piscina p99)`;
    out.push(
      target(s && m ? s.latency.p99 <= m.latency.p99 : undefined, row, () =>
        s && m
          ? `from the intended send time: smartasync p50 ${ms(s.latency.p50)} / p99 ${ms(s.latency.p99)} / p99.9 ${ms(s.latency.p999)} ms at ${rate(s.achieved)} req/s, manual piscina ${ms(m.latency.p50)} / ${ms(m.latency.p99)} / ${ms(m.latency.p999)} ms. ` +
            `${s.pool ? `smartasync pool: calls waited ${ms(s.pool.meanWaitMs)} ms on average for a worker and ran ${ms(s.pool.meanRunMs)} ms. ` : ''}` +
            `${s.loop && m.loop ? `Server event-loop delay p99: smartasync ${ms(s.loop.p99Ms)}, manual piscina ${ms(m.loop.p99Ms)} ms. ` : ''}` +
            `${pct(s.latency.over5ms)} of smartasync's requests over 5 ms (manual piscina ${pct(m.latency.over5ms)}).`
          : undefined,
      ),
    );
  }
  const fr = (b: string) => app.firstRequest.find((x) => x.build === b && !x.error);
  const [main, bench, naive, manual] = ['smartasync (npm start)', 'smartasync', 'naive', 'manual-piscina'].map(fr);
  const firstRow = `traffic-first|First request after start ≤ 2× a warm request|users API started as \`npm start\`|${ms(main?.firstMs)} ms|≤ ${ms(main ? 2 * main.warmMs : undefined)} ms (2 × ${ms(main?.warmMs)} ms warm)`;
  out.push(
    target(main ? main.firstMs <= 2 * main.warmMs : undefined, firstRow, () => {
      if (!main) return undefined;
      const [at, after] = [main.starts.map((x) => x.workersAtFirst), main.starts.map((x) => x.workersAfterFirst)].map(
        (xs) => xs.filter((x) => x !== undefined),
      );
      const list = (xs: number[]) => [...new Set(xs)].join(' or ');
      const started =
        Math.max(...at!) === 0 && Math.min(...after!) > 0
          ? ': its workers were started by the first request, not before listening.'
          : '.';
      const tooSlow = naive && naive.firstMs > 2 * main.warmMs;
      return (
        `first GET /users/:id on a new connection once the server listens (${main.starts.length} fresh start(s), median), against the median of 31 later requests each on a new connection: ` +
        `${ms(main.firstMs)} vs ${ms(main.warmMs)} ms (${ratio(main.firstMs, main.warmMs)}). ` +
        `${naive ? `The naive build, with no worker at all, takes ${ms(naive.firstMs)} vs ${ms(naive.warmMs)} ms (${ratio(naive.firstMs, naive.warmMs)}): that much is the server's own cold path (Fastify's first request and the first query)${tooSlow ? `, already over 2× smartasync's warm request by itself, so warm workers alone cannot meet this target: the request path on the main thread needs warming too. ` : '. '}` : ''}` +
        `${manual ? `Manual piscina: ${ms(manual.firstMs)} vs ${ms(manual.warmMs)} ms (${ratio(manual.firstMs, manual.warmMs)}). ` : ''}` +
        `${bench ? `The benchmark's smartasync server (buildApp, then listen): ${ms(bench.firstMs)} vs ${ms(bench.warmMs)} ms. ` : ''}` +
        `${at!.length ? `The server process had ${list(at!)} worker thread(s) when the first request was sent and ${list(after!)} once it was answered (from /proc/<pid>/task)${started}` : ''}` +
        `${naive ? ` The first request costs ${ms(main.firstMs - naive.firstMs)} ms more than the naive build's.` : ''}`
      );
    }),
  );
  return out;
}

// ---- tables ------------------------------------------------------------------------------

type Start = { start?: { method: string; ms: number; workers?: number } };
const startWords = ({ start: s }: Start) =>
  s ? `${s.method}, ${ms(s.ms)} ms${s.workers !== undefined ? `, ${s.workers} workers up` : ''}` : '–';
/** A failed candidate's row: its error in column `at`, the other cells empty. */
const errorRow = (id: string, error: string, cols: number, at = 1) =>
  [bold(id), ...Array<string>(at - 1).fill(''), `_${error}_`, ...Array<string>(cols - at - 1).fill('')].join(' | ');
const dist3 = (l: Recorded['latency']) => `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)}`;
const p99cell = (p99: number, rounds: { min: number; max: number }) =>
  `${ms(p99)} <sub>${ms(rounds.min)}–${ms(rounds.max)}</sub>`;
const pq = (x: { p50: number; p99: number }) => `${ms(x.p50)} / ${ms(x.p99)}`;

function spacedTable(t: TrafficResult): string {
  const sp = ok(t.spaced)!;
  const rows = sp.candidates.flatMap((c) =>
    c.error
      ? [errorRow(c.id, c.error, 9, 2)]
      : GAPS.flatMap((g) => {
          const x = c.gaps[g];
          const l = x?.latency;
          return x && l
            ? [
                `${bold(c.id)} | ${g} | ${ms(l.p50)} | ${p99cell(l.p99, x.p99Rounds)} | ${ms(l.max)} | ${pct(l.over5ms)} | ${pq(x.split.queue)} | ${pq(x.split.reply)} | ${l.count}`,
              ]
            : [];
        }),
  );
  return (
    `${sp.rounds} round(s) × ${sp.calls} calls per gap, pool of ${sp.workers} workers, candidates interleaved. Before each gap's calls the state is driven: ` +
    `16 concurrent light calls, then two ≈3 ms calls at once and one alone. Each call is awaited, then the gap (\`setImmediate\`, \`setTimeout(1)\`, \`setTimeout(10)\`) ` +
    `before the next. Percentiles over every call of every round (HdrHistogram); p99 in small print is the min–max of the per-round p99. ` +
    `"to start" = from the call to the body starting on a worker; "reply" = from the body's end to the caller's promise settling.\n\n` +
    table('candidate|gap|p50 ms|p99 ms|max ms|> 5 ms|to start p50 / p99 ms|reply p50 / p99 ms|calls', rows) +
    `\n\nHow each pool was started: ${sp.candidates.map((c) => `${c.id}: ${startWords(c)}`).join('; ')}.`
  );
}

function openLoopTable(t: TrafficResult): string {
  const ol = ok(t.openloop)!;
  const rows = ol.candidates.flatMap((c) =>
    c.error
      ? [errorRow(c.id, c.error, 10, 2)]
      : c.points.map(
          ({ rate: offered, achieved, rec: { latency: l, split: s }, p99Rounds }) =>
            `${bold(c.id)} | ${rate(offered)} | ${rate(achieved)} | ${ms(l.p50)} | ${p99cell(l.p99, p99Rounds)} | ${ms(l.p999)} | ${ms(l.max)} | ${pq(s.lag)} | ${ms(s.queue.p99)} / ${ms(s.reply.p99)} | ${l.count}`,
        ),
  );
  return (
    `Each call runs ≈${ol.workMs * 1000} µs of synchronous CPU (${ol.workIters} iterations) on a pool of ${ol.workers} workers. ` +
    `Saturation, measured first in this run as closed-loop throughput with ${ol.inFlight} calls in flight: ${ol.candidates.map((c) => `${c.id} ${rate(c.saturation)}`).join(', ')} calls/s. ` +
    `Offered rates are fractions of the lowest (${rate(ol.saturation)}); arrivals are Poisson with the same seeded schedule for every candidate, ` +
    `${ol.rounds} round(s) × ${ol.seconds} s per rate. Latency counts from each call's **intended** send time, so a sender held up by a busy event loop ` +
    `does not hide the queueing it caused (no coordinated omission); "sender late" is how far after its intended time the call was actually made ` +
    `(the sender runs on timers of ≈1 ms resolution, the same for every candidate).\n\n` +
    table(
      'candidate|offered /s|done /s|p50 ms|p99 ms|p99.9 ms|max ms|sender late p50 / p99 ms|p99 to start / reply ms|calls',
      rows,
    )
  );
}

function mixedTable(t: TrafficResult): string {
  const mx = ok(t.mixed)!;
  const rows = mx.candidates.map((c) =>
    c.error || !c.alone || !c.loaded
      ? errorRow(c.id, c.error ?? 'no data', 9)
      : `${bold(c.id)} | ${dist3(c.alone.latency)} | ${dist3(c.loaded.latency)} | ${ratio(c.loaded.latency.p99, c.alone.latency.p99)} | ${pct(c.loaded.latency.over5ms)} | ${pq(c.loaded.split.queue)} | ` +
        `${rate(c.longAlone?.median)} / ${rate(c.longLoaded?.median)} | ${ms(c.longRunMs?.alone)} / ${ms(c.longRunMs?.loaded)} | ${c.loaded.latency.count}`,
  );
  const head =
    'candidate|light alone p50 / p99 / max ms|light under long calls p50 / p99 / max ms|p99 ratio|light > 5 ms|light to start p50 / p99 ms|long calls/s alone / with light|long call run ms alone / with light|light calls';
  return (
    `Pool of ${mx.workers} workers. Per round and candidate, three phases of ${mx.seconds} s: light calls alone (a trivial call every ${mx.lightEveryMs} ms, sent on schedule ` +
    `whether or not earlier ones have settled); long calls alone (${mx.longCallers} closed-loop callers of a ≈${mx.longMs} ms synchronous call, ${mx.longIters} iterations); both at once. ` +
    `${mx.rounds} round(s), candidates interleaved; light latency from each call, over every call of every round.\n\n${table(head, rows)}`
  );
}

function appTable(t: TrafficResult): string {
  const app = ok(t.app)!;
  const order = (s: (typeof app.scenarios)[number]) =>
    s.scenario === 'alone' ? 0 : s.scenario === 'with-report' ? 1 : 2 + (s.rate ?? 0) / 1e9;
  const rows = [...app.scenarios]
    .sort((a, b) => order(a) - order(b) || a.build.localeCompare(b.build))
    .map(
      ({ scenario, build, achieved, latency: l, p99Rounds, report, loop, pool, errors }) =>
        `${scenario} | ${bold(build)} | ${rate(achieved)} | ${ms(l.p50)} | ${p99cell(l.p99, p99Rounds)} | ${ms(l.p999)} | ${ms(l.max)} | ${pct(l.over5ms)} | ` +
        `${report ? `${report.requestsPerSec.toFixed(1)} / ${ms(report.p50Ms)}` : '–'} | ${loop ? ms(loop.p99Ms) : '–'} | ${pool ? ms(pool.meanWaitMs) : '–'} | ${errors}`,
    );
  const threads = (x: FirstRequest) => {
    const [at, after] = [x.starts.map((s) => s.workersAtFirst), x.starts.map((s) => s.workersAfterFirst)].map((xs) =>
      [...new Set(xs)].join('/'),
    );
    return at ? `${at} → ${after}` : '–';
  };
  const first = app.firstRequest.map((x) =>
    x.error
      ? `${x.build} | _${x.error}_${' | '.repeat(5)}`
      : `${bold(x.build, 'smartasync (npm start)')} | ${x.entry} | ${ms(x.listenMs)} | ${ms(x.firstMs)} | ${ms(x.warmMs)} | ${ratio(x.firstMs, x.warmMs)} | ${threads(x)}`,
  );
  return (
    `Each build in its own server process on 127.0.0.1 (SQLite, 1,000 users). \`alone\`: ${app.lightConnections} client looping \`GET /users/:id\` (random ids) for ${app.seconds} s, each request sent once the previous response is read (undici); ` +
    `\`with-report\`: the same while ${app.reportConnections} clients loop \`GET /reports/users\` (≈40 ms of synchronous work each); ` +
    `\`open-N\`: Poisson arrivals at N req/s for ${app.openSeconds} s from an open-loop client on undici (up to 32 connections), latency from each request's intended send time. ` +
    `${app.rounds} round(s), builds interleaved; percentiles over every request of every round (HdrHistogram), p99 in small print the min–max over rounds. ` +
    `Server and load generator share the 2 cores.\n\n${app.builds.map((b) => `- \`${b.build}\`: ${b.note}`).join('\n')}\n\n` +
    table(
      'scenario|build|req/s|p50 ms|p99 ms|p99.9 ms|max ms|> 5 ms|report req/s / p50 ms|server loop delay p99 ms|pool wait ms/call|errors',
      rows,
    ) +
    `\n\n**First request after start.** A fresh server per start; the first \`GET /users/:id\` once it listens, on a new connection, against the median of 31 requests ` +
    `(each on a new connection) after a warm-up. Median over the starts.\n\n` +
    table(
      'server|started as|spawn → listening ms|first request ms|warm request ms|first / warm|worker threads before → after the first request',
      first,
    ) +
    (app.errors.length ? `\n\nErrors: ${app.errors.map((e) => `${e.build}: ${e.error}`).join('; ')}` : '')
  );
}

function idleTable(t: TrafficResult): string {
  const idle = ok(t.idle)!;
  const rows = idle.candidates.map((c: IdleCandidate) =>
    c.error
      ? errorRow(c.id, c.error, 9)
      : `${bold(c.id)} | ${c.id === 'node' ? '–' : startWords(c)} | ${ms(c.firstCallMs)} | ${ms(c.warmCallMs)} | ${pct(c.coreShare, 2)} | ` +
        `${c.threads ? `${ms(c.threads.main)} / ${ms(c.threads.workers)} / ${ms(c.threads.other)}` : '–'} | ` +
        `${c.wakeupsPerS ? `${c.wakeupsPerS.main.toFixed(0)} / ${c.wakeupsPerS.workers.toFixed(0)}` : '–'} | ${ms(c.afterIdleCallMs)} | ${c.workers ?? '–'}`,
  );
  return (
    `One process per candidate, started one after another; each starts its pool of ${idle.workers} (warm where the candidate can), times its first call and 20 more, ` +
    `makes sure every worker is up, then all idle together for ${idle.seconds} s. CPU is the whole process's (\`process.cpuUsage()\`), split by thread from \`/proc/self/task/*/schedstat\`; ` +
    `switches are context switches per second (\`/proc/self/task/*/status\`): how often the threads wake. \`node\` is a Node process with no pool, the floor.\n\n` +
    table(
      'candidate|start|first call ms|warm call ms|idle CPU (share of a core)|CPU ms main / workers / helpers|switches/s main / workers|call after idle ms|workers',
      rows,
    )
  );
}

export function issue7Markdown(r: Results, chart: (name: string) => string): string {
  if (!r.traffic) return '_not run (`--sections=traffic`)_';
  if ('error' in r.traffic) return `_failed: ${r.traffic.error.split('\n')[0]}_`;
  const t = r.traffic;
  const part = (p: object | undefined, f: (t: TrafficResult) => string) => failed(p) ?? f(t);
  return `smartasync (\`${SUBJECT}\`) against piscina with its defaults (\`${PEER}\`) and a hand-written \`worker_threads\` pool (\`${RAW}\`), each with ${t.params.workers} workers, all in one process per scenario and interleaved in rounds; unpinned (a server uses both cores). Targets of issue 7 are in the table at the top.

### 6.1 Spaced calls

${chart('traffic-spaced')}${part(t.spaced, spacedTable)}

### 6.2 Open-loop arrivals

${chart('traffic-openloop')}${part(t.openloop, openLoopTable)}

### 6.3 Light calls among long calls

${chart('traffic-mixed')}${part(t.mixed, mixedTable)}

### 6.4 The users API under traffic

${chart('traffic-app')}${part(t.app, appTable)}

### 6.5 Idle cost and first call

${part(t.idle, idleTable)}
`;
}

// ---- charts ------------------------------------------------------------------------------

const CANDIDATES = {
  domain: ['★ smartasync', 'piscina:default', 'raw:postMessage'],
  range: ['#e45756', '#4c78a8', '#72b7b2'],
};
const PHASES = ['light alone', 'with long calls'];

// Latencies span four orders of magnitude: a log scale, and dots rather than bars (a bar on a log scale has no zero).
function dots(
  field: string,
  title: string,
  y: string,
  ySort: string[] | null,
  offset: string,
  offsetSort: string[],
  color: object,
  width = 240,
) {
  return {
    width,
    encoding: {
      y: { field: y, type: 'nominal', title: null, sort: ySort },
      yOffset: { field: offset, sort: offsetSort },
      color,
    },
    layer: [
      {
        mark: { type: 'point', filled: true, size: 60, opacity: 1 },
        encoding: { x: { field, type: 'quantitative', title, scale: { type: 'log' } } },
      },
      valueText(field, '.3~r'),
    ],
  };
}
const lines = (x: string, xTitle: string, y: string, yTitle: string, color: object, width: number, height: number) => ({
  width,
  height,
  mark: { type: 'line', point: true },
  encoding: {
    x: { field: x, type: 'quantitative', title: xTitle, scale: { type: 'log' } },
    y: { field: y, type: 'quantitative', title: yTitle, scale: { type: 'log' } },
    color,
  },
});

export function issue7Charts(r: Results): Record<string, Spec> {
  const t = ok(r.traffic);
  const specs: Record<string, Spec> = {};
  if (!t) return specs;
  const byCandidate = legend('candidate', CANDIDATES);
  const sp = ok(t.spaced);
  if (sp) {
    const values: Datum[] = sp.candidates.flatMap((c) =>
      GAPS.flatMap((g) =>
        c.gaps[g]
          ? [
              {
                candidate: star(c.id),
                gap: g,
                p50: c.gaps[g].latency.p50,
                p99: c.gaps[g].latency.p99,
                max: c.gaps[g].latency.max,
              },
            ]
          : [],
      ),
    );
    specs['traffic-spaced'] = {
      ...base(
        'Spaced calls: one light call at a time, a gap between calls',
        `ms, log scale, lower is better · every call of every round · ${runLine(r)}`,
      ),
      data: { values },
      hconcat: ['p50', 'p99', 'max'].map((k) =>
        dots(k, `${k} ms`, 'gap', [...GAPS], 'candidate', CANDIDATES.domain, byCandidate, 200),
      ),
    } as Spec;
  }
  const ol = ok(t.openloop);
  if (ol) {
    const values: Datum[] = ol.candidates.flatMap((c) =>
      c.points.map((pt) => ({
        candidate: star(c.id),
        rate: pt.rate,
        p50: pt.rec.latency.p50,
        p99: pt.rec.latency.p99,
        p999: pt.rec.latency.p999,
      })),
    );
    const line = (k: string, title: string) =>
      lines('rate', 'offered calls/s (Poisson)', k, title, byCandidate, 230, 200);
    specs['traffic-openloop'] = {
      ...base(
        'Open-loop arrivals: latency from the intended send time',
        `ms, log scale, lower is better · ≈${ol.workMs * 1000} µs calls, ${ol.workers} workers · ${runLine(r)}`,
      ),
      data: { values },
      hconcat: [line('p50', 'p50 ms'), line('p99', 'p99 ms'), line('p999', 'p99.9 ms')],
    } as Spec;
  }
  const mx = ok(t.mixed);
  if (mx) {
    const values: Datum[] = mx.candidates.flatMap((c) =>
      c.alone && c.loaded
        ? [
            {
              candidate: star(c.id),
              phase: PHASES[0]!,
              p99: c.alone.latency.p99,
              longPerS: c.longAlone?.median ?? NaN,
            },
            {
              candidate: star(c.id),
              phase: PHASES[1]!,
              p99: c.loaded.latency.p99,
              longPerS: c.longLoaded?.median ?? NaN,
            },
          ]
        : [],
    );
    const color = legend('phase', { domain: PHASES, range: ['#4c78a8', '#e45756'] });
    const longBars = {
      width: 200,
      transform: [{ filter: 'isValid(datum.longPerS) && datum.longPerS > 0' }],
      encoding: {
        y: { field: 'candidate', type: 'nominal', title: null, sort: CANDIDATES.domain },
        yOffset: { field: 'phase', sort: PHASES },
        color,
      },
      layer: [
        {
          mark: { type: 'bar', height: { band: 0.4 } },
          encoding: {
            x: { field: 'longPerS', type: 'quantitative', title: 'long calls/s (alone / with light calls)' },
          },
        },
        valueText('longPerS', '.3~r', { dx: 3, fontSize: 8 }),
      ],
    };
    specs['traffic-mixed'] = {
      ...base(
        'Light calls among long ones',
        `light p99 ms (log) alone and while ${mx.longCallers} callers keep ${mx.workers} workers busy with ${mx.longMs} ms calls · ${runLine(r)}`,
      ),
      data: { values },
      hconcat: [dots('p99', 'light p99 ms', 'candidate', CANDIDATES.domain, 'phase', PHASES, color, 260), longBars],
    } as Spec;
  }
  const app = ok(t.app);
  if (app) {
    const builds = ['★ smartasync', 'manual-piscina', 'naive'];
    const closed: Datum[] = app.scenarios
      .filter((s) => s.scenario === 'alone' || s.scenario === 'with-report')
      .map((s) => ({
        build: star(s.build),
        scenario: s.scenario === 'alone' ? 'alone' : 'with the report',
        p99: s.latency.p99,
      }));
    const open: Datum[] = app.scenarios.flatMap((s) =>
      s.rate === undefined ? [] : [{ build: star(s.build), rate: s.rate, p99: s.latency.p99 }],
    );
    const color = legend('scenario', { domain: ['alone', 'with the report'], range: ['#4c78a8', '#e45756'] });
    specs['traffic-app'] = {
      // Two views with their own data: nothing shared (a shared yOffset would merge two sort orders).
      resolve: { scale: { color: 'independent', x: 'independent', y: 'independent', yOffset: 'independent' } },
      ...base(
        'Users API: GET /users/:id p99',
        `ms, log scale · left: one client looping, alone and with the report · right: open loop · ${runLine(r)}`,
      ),
      hconcat: [
        {
          data: { values: closed },
          ...dots(
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
          ...lines(
            'rate',
            'offered req/s (Poisson)',
            'p99',
            'open-loop p99 ms',
            legend('build', { domain: builds, range: ['#e45756', '#4c78a8', '#bab0ac'] }),
            240,
            160,
          ),
        },
      ],
    } as Spec;
  }
  return specs;
}
