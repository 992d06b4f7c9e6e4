// The targets of issues 4, 7 and 16: one verdict per row and, for a miss, the measured reason in a line.
import type { JobResult } from '../micro.ts';
import { ok, type Results } from '../results.ts';
import type { Recorded } from '../lib/stats.ts';
import type { verdicts as exportVerdicts } from '../export/run.ts';
import { GAPS, type Gap } from '../traffic/spaced.ts';
import { find, metric, modes, ms, pct, poolSizes, rate, rate6, ratio, us, values, type TargetCheck } from './format.ts';

type N = number | undefined;
/** Both defined: f(a, b); else undefined. */
const both = <T>(a: N, b: N, f: (a: number, b: number) => T): T | undefined =>
  a === undefined || b === undefined ? undefined : f(a, b);
const times = (x: N, k: number) => (x === undefined ? undefined : x * k);
/** Whether `a` ≤ `b` (≥ `b`); undefined, not measured, when either is. */
const atMost = (a: N, b: N) => both(a, b, (a, b) => a <= b);
const atLeast = (a: N, b: N) => both(a, b, (a, b) => a >= b);

/** What `npm run export` wrote (export.json), for issue 16's export targets: its verdicts and when it ran. */
export type ExportReport = { meta: { date: string; commit: string }; verdicts: ReturnType<typeof exportVerdicts> };

/**
 * The verdicts of one issue, and a function that adds one: `row` is `id|target|where|value|required`,
 * as the targets table reads; `why`, the measured reason, is kept for a miss only.
 */
function collect() {
  const out: TargetCheck[] = [];
  const add = (met: boolean | undefined, row: string, why?: string) => {
    const [id, target, where, value, required] = row.split('|') as [string, string, string, string, string];
    const verdict = met === undefined ? 'not measured' : met ? 'met' : 'missed';
    out.push({ id, target, where, value, required, verdict, why: met === false ? why : undefined });
  };
  return [out, add] as const;
}

/**
 * The peer (any configuration) with the best value of `key`, and that value; with `lib`, the best
 * configuration of that library only.
 */
function bestPeer(j: JobResult | undefined, key: string, higherIsBetter: boolean, lib?: string) {
  const peers = (j?.candidates ?? []).filter((c) => c.kind === 'peer' && (!lib || c.lib === lib));
  const measured = peers.filter((c) => metric(c, key) !== undefined);
  const best = measured.sort((a, b) => (higherIsBetter ? -1 : 1) * (metric(a, key)! - metric(b, key)!))[0];
  return [best?.id, metric(best, key)] as const;
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

/**
 * Issue 4 (sections 1–5 against the best peer), and issue 16's rows judged on the same jobs: against
 * piscina's best configuration and synckit.
 */
function issue4(r: Results) {
  const [out, add] = collect();
  const [hot, add16] = collect();
  for (const mode of modes(r, 'roundtrip')) {
    const j = find(r, 'roundtrip', mode);
    const [s, raw, floor] = values(j, 'median_us', 'smartasync', 'raw:postMessage', 'floor:atomics');
    const [[peer, p], [piscina, pp]] = [bestPeer(j, 'median_us', false), bestPeer(j, 'median_us', false, 'piscina')];
    const why = `raw postMessage ${us(raw)} µs and a bare Atomics ping-pong ${us(floor)} µs in the same run.`;
    const row = `roundtrip|Round trip ≤ ½ best peer|${mode}|${us(s)} µs|≤ ${us(times(p, 0.5))} µs (½ × ${peer} ${us(p)} µs)`;
    add(atMost(s, times(p, 0.5)), row, why);
    const goal = both(s, pp, (s, p) => (s <= p / 2 ? ', goal met' : ''));
    const row16 = `i16-roundtrip|Round trip ≤ 1× piscina's best (goal ≤ ½)|${mode}|${us(s)} µs (${ratio(s, pp)})|≤ ${us(pp)} µs (${piscina}${goal})`;
    add16(atMost(s, pp), row16, why);
  }
  for (const workers of poolSizes(r, 'throughput'))
    for (const mode of modes(r, 'throughput')) {
      const j = find(r, 'throughput', mode, workers);
      const [s, raw] = values(j, 'calls_per_s', 'smartasync', 'raw:postMessage');
      const [sCpu, rawCpu] = values(j, 'cpu_us_per_call', 'smartasync', 'raw:postMessage');
      const [[peer, p], [cpuPeer, pCpu]] = [bestPeer(j, 'calls_per_s', true), bestPeer(j, 'cpu_us_per_call', false)];
      const [piscina, pp] = bestPeer(j, 'calls_per_s', true, 'piscina');
      const at = `${workers} worker${workers > 1 ? 's' : ''}, ${mode}`;
      const why = `main-thread CPU ${us(sCpu)} µs per call; raw postMessage ${rate(raw)} calls/s at ${us(rawCpu)} µs.`;
      const row = `throughput|Throughput ≥ 2× best peer config|${at}|${rate(s)} calls/s|≥ ${rate(times(p, 2))} (2 × ${peer} ${rate(p)})`;
      add(atLeast(s, times(p, 2)), row, why);
      const rowCpu = `throughput-cpu|Main-thread CPU/call ≤ ½ best peer|${at}|${us(sCpu)} µs|≤ ${us(times(pCpu, 0.5))} µs (½ × ${cpuPeer} ${us(pCpu)} µs)`;
      add(atMost(sCpu, times(pCpu, 0.5)), rowCpu, why);
      const row16 = `i16-throughput|Throughput ≥ 2.5× piscina's best (goal ≥ 3×)|${at}|${rate(s)} calls/s (${ratio(s, pp)})|≥ ${rate(times(pp, 2.5))} (2.5 × ${piscina} ${rate(pp)})`;
      const why16 = `hand-written postMessage (worker.postMessage each way, no pool) does ${rate(raw)} calls/s here, ${ratio(raw, pp)} piscina's best: smartasync does ${ratio(s, raw)} of it.`;
      add16(atLeast(s, times(pp, 2.5)), row16, why16);
    }
  for (const mode of modes(r, 'sync')) {
    const ids = ['smartasync.sync', 'synckit:default', 'floor:atomics-sync'];
    const [s, k, floor] = values(find(r, 'sync', mode), 'median_us', ...ids);
    const twoThirds = both(k, 3, (k, d) => (2 * k) / d);
    const why = `the Atomics floor (a futex hand-off each way, no message) is ${us(floor)} µs in the same run.`;
    const row = `sync|f.sync() ≤ ⅔ synckit|${mode}|${us(s)} µs|≤ ${us(twoThirds)} µs (⅔ × synckit ${us(k)} µs)`;
    add(atMost(s, twoThirds), row, why);
    const row16 = `i16-sync|f.sync() of an async body ≤ synckit (goal ≤ ⅔)|${mode}|${us(s)} µs (${ratio(s, k)})|≤ ${us(k)} µs (synckit)`;
    add16(atMost(s, k), row16, why);
  }
  // Payload: main-thread CPU ≤ ½ raw postMessage's; f.json() (JSON text made on the worker) in a row of its own.
  for (const mode of modes(r, 'payload')) {
    const j = find(r, 'payload', mode);
    const [raw, rawJson] = values(j, 'cpu_us_per_call', 'raw:postMessage', 'raw:postMessage+JSON');
    const [rawSmall] = values(find(r, 'roundtrip', mode), 'cpu_us_per_call', 'raw:postMessage');
    const why = `receiving the rows costs raw postMessage ${us(both(raw, rawSmall, (a, b) => a - b))} µs of main-thread CPU (its payload call less its no-op call); JSON text by hand costs ${us(rawJson)} µs.`;
    for (const [id, name] of [
      ['smartasync', '1,000 rows: main-thread CPU ≤ ½ raw'],
      ['smartasync.json', '1,000 rows as JSON text (f.json()): main-thread CPU ≤ ½ raw'],
    ] as const) {
      if (!j?.candidates.some((x) => x.id === id)) continue;
      const [s] = values(j, 'cpu_us_per_call', id);
      const row = `${id === 'smartasync' ? 'payload' : 'payload-json'}|${name}|${mode}|${us(s)} µs|≤ ${us(times(raw, 0.5))} µs (½ × raw ${us(raw)} µs)`;
      add(atMost(s, times(raw, 0.5)), row, why);
    }
  }
  const app = ok(r.app);
  if (!app) return [out, hot] as const;
  const get = (b: string, s: string) => app.summary.find((x) => x.build === b && x.scenario === s);
  const [sA, sL, sH] = ['alone', 'with-report', 'with-cpu-hog'].map((s) => get('smartasync', s));
  const [nA, mA] = ['naive', 'manual-piscina'].map((b) => get(b, 'alone'));
  const [sRps, nRps, mRps] = [sA?.light.requestsPerSec, nA?.light.requestsPerSec, mA?.light.requestsPerSec];
  const [alone, withReport] = [sA?.light.p99Ms, sL?.light.p99Ms];
  const total = (c?: { mainUs: number; workersUs: number; otherUs: number }) => c && c.mainUs + c.workersUs + c.otherUs;
  const p99Row = `app-p99|Light p99 with report ≤ 2× alone|smartasync build|${us(withReport)} ms|≤ ${us(times(alone, 2))} ms (2 × ${us(alone)} ms alone)`;
  const p99Why = `pool wait ${sL?.pool?.meanWaitMs.toFixed(3)} ms/call (alone ${sA?.pool?.meanWaitMs.toFixed(3)}), server loop delay p99 ${us(sL?.loop?.p99Ms)} ms; control with a busy core instead of the report: p99 ${us(sH?.light.p99Ms)} ms.`;
  add(atMost(withReport, times(alone, 2)), p99Row, p99Why);
  const naiveRow = `app-vs-naive|Light req/s alone ≥ 0.9× naive|no report running|${rate(sRps)} req/s|≥ ${rate(times(nRps, 0.9))} (0.9 × naive ${rate(nRps)})`;
  const naiveWhy = `server CPU per request: smartasync ${us(total(sA?.cpu))} µs (main thread ${us(sA?.cpu?.mainUs)}, workers ${us(sA?.cpu?.workersUs)}), naive ${us(total(nA?.cpu))} µs; every core is busy, so req/s follows CPU per request.`;
  add(atLeast(sRps, times(nRps, 0.9)), naiveRow, naiveWhy);
  const manualRow = `app-vs-manual|Light req/s ahead of manual piscina|no report running|${rate(sRps)} req/s|> ${rate(mRps)} (manual piscina)`;
  const ahead = both(sRps, mRps, (s, m) => s > m);
  add(ahead, manualRow);
  return [out, hot] as const;
}

const [SUBJECT, PEER, RAW] = ['smartasync', 'piscina:default', 'raw:postMessage'];
const GAP_LABEL: Record<Gap, string> = {
  setImmediate: 'setImmediate gap',
  '1ms': '1 ms timer gap',
  '10ms': '10 ms timer gap',
};
const get = <C extends { id: string; error?: string }>(cs: C[], id: string) => cs.find((c) => c.id === id && !c.error);
/** Where a distribution's time went: the measured reason behind a tail. */
const where = ({ split: s, slow }: Recorded) =>
  `to start on a worker p50 ${ms(s.queue.p50)} / p99 ${ms(s.queue.p99)} ms, reply delivery p50 ${ms(s.reply.p50)} / p99 ${ms(s.reply.p99)} ms; ${slow.count} call(s) over 5 ms`;

function issue7(r: Results): TargetCheck[] {
  const t = ok(r.traffic);
  if (!t) return [];
  const [sp, ol, mx, app, idle] = [ok(t.spaced), ok(t.openloop), ok(t.mixed), ok(t.app), ok(t.idle)];
  const [out, add] = collect();
  if (sp) {
    const [s, p, raw] = [SUBJECT, PEER, RAW].map((id) => get(sp.candidates, id));
    for (const gap of GAPS) {
      const [a, b] = [s?.gaps[gap], p?.gaps[gap]];
      const [sa, pb] = [a?.latency.p99, b?.latency.p99];
      const goal = both(sa, pb, (x, y) => (x <= y / 2 ? ', goal met' : ', goal not met')) ?? '';
      const row = `traffic-spaced|Spaced calls: p99 ≤ piscina p99 (goal ≤ ½)|${GAP_LABEL[gap]}|${ms(sa)} ms (${ratio(sa, pb)})|≤ ${ms(pb)} ms (piscina p99; goal ≤ ${ms(times(pb, 0.5))} ms${goal})`;
      add(atMost(sa, pb), row, a && b && `smartasync: ${where(a)}. piscina: ${where(b)}.`);
    }
    // A light call takes well under a millisecond: one over 5 ms waited for something else, a timer.
    const count = (c: typeof s, k: 'slow' | 'all') =>
      GAPS.reduce((n, g) => n + (c?.gaps[g] ? (k === 'slow' ? c.gaps[g].slow.count : c.gaps[g].latency.count) : 0), 0);
    const share = (c: typeof s) => (count(c, 'all') ? count(c, 'slow') / count(c, 'all') : undefined);
    const slow = (g: Gap, x = s?.gaps[g]?.slow) =>
      `${GAP_LABEL[g]}: slow calls median ${ms(x?.medianMs)} ms, ${ms(x?.queueMedianMs)} before the body started, ${ms(x?.replyMedianMs)} after it ended`;
    const row = `traffic-timer|Spaced calls: none waits for a timer (≤ 1% over 5 ms)|all gaps|${pct(share(s))} (${count(s, 'slow')} of ${count(s, 'all')})|≤ 1% (piscina ${pct(share(p))}, raw ${pct(share(raw))})`;
    add(atMost(share(s), 0.01), row, s && GAPS.map((g) => slow(g)).join('; '));
  }
  for (const [k, rt] of (ol?.rates ?? []).entries()) {
    const [a, b] = [get(ol!.candidates, SUBJECT)?.points[k]?.rec, get(ol!.candidates, PEER)?.points[k]?.rec];
    const [sa, pb] = [a?.latency.p99, b?.latency.p99];
    const row = `traffic-openloop|Open-loop p99 ≤ piscina p99|${rate6(rt)} calls/s (${pct(rt / ol!.saturation, 0)} of saturation)|${ms(sa)} ms (${ratio(sa, pb)})|≤ ${ms(pb)} ms (piscina p99)`;
    const why = a && b && `smartasync: sender late p99 ${ms(a.split.lag.p99)} ms, ${where(a)}. piscina: ${where(b)}.`;
    add(atMost(sa, pb), row, why);
  }
  if (mx) {
    const s = get(mx.candidates, SUBJECT);
    const [a, l] = [s?.alone?.latency.p99, s?.loaded?.latency.p99];
    const row = `traffic-mixed|Light p99 under long calls ≤ 2× light alone|${mx.workers} workers, ${mx.longCallers} callers of ${mx.longMs} ms calls|${ms(l)} ms|≤ ${ms(times(a, 2))} ms (2 × ${ms(a)} ms alone)`;
    add(atMost(l, times(a, 2)), row, s?.loaded && `under long calls: ${where(s.loaded)}.`);
  }
  if (app) {
    const sc = (b: string, s: string) => app.scenarios.find((x) => x.build === b && x.scenario === s);
    const [sA, sR] = [sc(SUBJECT, 'alone'), sc(SUBJECT, 'with-report')];
    const [a, l] = [sA?.latency.p99, sR?.latency.p99];
    const row = `traffic-app-report|App: GET /users/:id p99 under the report ≤ 2× alone|smartasync build, defaults; ${app.reportConnections} clients loop the report|${ms(l)} ms|≤ ${ms(times(a, 2))} ms (2 × ${ms(a)} ms alone)`;
    const why = `pool wait ${ms(sR?.pool?.meanWaitMs)} ms/call (alone ${ms(sA?.pool?.meanWaitMs)}), server loop delay p99 ${ms(sR?.loop?.p99Ms)} ms.`;
    add(atMost(l, times(a, 2)), row, why);
    for (const rt of app.rates) {
      const [s, m] = [sc(SUBJECT, `open-${rt}`), sc('manual-piscina', `open-${rt}`)];
      const row = `traffic-app-open|App open-loop: GET /users/:id p99 ≤ manual piscina|${rate6(rt)} req/s, Poisson|${ms(s?.latency.p99)} ms (${ratio(s?.latency.p99, m?.latency.p99)})|≤ ${ms(m?.latency.p99)} ms (manual piscina p99)`;
      const why = `pool wait ${ms(s?.pool?.meanWaitMs)} ms/call, server loop delay p99 ${ms(s?.loop?.p99Ms)} ms (manual piscina ${ms(m?.loop?.p99Ms)}).`;
      add(atMost(s?.latency.p99, m?.latency.p99), row, why);
    }
    const fr = (b: string) => app.firstRequest.find((x) => x.build === b && !x.error);
    const [main, naive] = [fr('smartasync (npm start)'), fr('naive')];
    const row1 = `traffic-first|First request after start ≤ 2× a warm request|users API started as \`npm start\`|${ms(main?.firstMs)} ms|≤ ${ms(times(main?.warmMs, 2))} ms (2 × ${ms(main?.warmMs)} ms warm)`;
    const why1 = `the naive build, no worker at all, takes ${ms(naive?.firstMs)} vs ${ms(naive?.warmMs)} ms: the server's own cold path.`;
    add(atMost(main?.firstMs, times(main?.warmMs, 2)), row1, why1);
  }
  if (idle) {
    const [s, p, n] = [SUBJECT, PEER, 'node'].map((id) => get(idle.candidates, id));
    const row = `traffic-idle|Idle pool CPU ≤ 1% of one core|${idle.workers} warm workers, ${idle.seconds} s|${pct(s?.coreShare, 2)}|≤ 1% (piscina ${pct(p?.coreShare, 2)}, Node with no pool ${pct(n?.coreShare, 2)})`;
    const why = `workers switched in ${s?.wakeupsPerS?.workers.toFixed(0)} times a second, the main thread ${s?.wakeupsPerS?.main.toFixed(0)}.`;
    add(atMost(s?.coreShare, 0.01), row, why);
  }
  return out;
}

/**
 * Issue 16 (the hot path), after its rows on sections 1–4: rows that repeat an issue 7 check (spaced p99,
 * first request, idle CPU) carry the same verdict; the export's come from export.json (`npm run export`),
 * which says when it ran; the 10 MB values are bench:compare's.
 */
function issue16(r: Results, issue7Checks: TargetCheck[], exported?: ExportReport): TargetCheck[] {
  const [out, add] = collect();
  const again = (id: string, where?: string) =>
    issue7Checks
      .filter((c) => c.id === id && (!where || c.where === where))
      .map((c) => ({ ...c, id: `i16-${c.id}`, why: undefined })); // its reason is given once, under issue 7
  out.push(...again('traffic-spaced', GAP_LABEL.setImmediate), ...again('traffic-spaced', GAP_LABEL['1ms']));
  // Peak RSS and the time against `.all()` are issue 11's targets, not issue 16's.
  const judged = exported?.verdicts.filter((v) => !v.target.startsWith('Peak') && !v.target.includes('.all()'));
  for (const v of judged ?? []) {
    const row = `i16-export|1M-row export: ${v.target.replace(' (issue 16)', '')}|npm run export, ${exported!.meta.date.slice(0, 10)} at ${exported!.meta.commit}|${v.measured}|${v.required}`;
    const why = v.target.startsWith('Time')
      ? 'the app as shipped runs its export worker at nice 10 (DB_WORKER_NICE), so it gives way to light requests; export.md has the same app at nice 0 beside it.'
      : 'the export worker, the server, the light clients and the load generator share the 2 cores: see export.md.';
    add(v.met, row, why);
  }
  const app = ok(r.app);
  if (app) {
    const get = (b: string, sc: string) => app.summary.find((x) => x.build === b && x.scenario === sc)?.light;
    const [auto, report] = ['alone', 'with-report'].map((s) => get('smartasync-auto', s));
    const [a, n] = [auto?.requestsPerSec, get('naive', 'alone')?.requestsPerSec];
    const goal = both(a, n, (a, n) => (a >= 0.95 * n ? ', goal met' : ''));
    const inline = `i16-app-inline|Users API GET /users/:id alone ≥ 0.8× inline (goal ≥ 0.95×)|the app as shipped (offload 'auto')|${rate(a)} req/s (${ratio(a, n)})|≥ ${rate(times(n, 0.8))} (0.8 × inline ${rate(n)}${goal})`;
    add(atLeast(a, times(n, 0.8)), inline);
    const [pa, pr] = [auto?.p99Ms, report?.p99Ms];
    const underReport = `i16-app-report|Users API GET /users/:id p99 under the hammered report ≤ 2× alone|the app as shipped (offload 'auto')|${us(pr)} ms|≤ ${us(times(pa, 2))} ms (2 × ${us(pa)} ms alone)`;
    add(atMost(pr, times(pa, 2)), underReport);
  }
  out.push(...again('traffic-first'), ...again('traffic-idle'));
  return out;
}

/** Every verdict, in targets.json's order: issue 4, issue 7, then issue 16 (its rows on sections 1–4 first). */
export function targets(r: Results, exported?: ExportReport): TargetCheck[] {
  const [four, hotPath] = issue4(r);
  const seven = issue7(r);
  return [...four, ...seven, ...hotPath, ...issue16(r, seven, exported)];
}
