// The targets of issues 4 and 7, checked against the measured figures. Every verdict carries the
// numbers it was made from, and a miss carries a measured reason.
import type { Mode } from '../job.ts';
import type { Results } from '../results.ts';
import type { AppResult, Build, Scenario } from '../app/types.ts';
import { bestPeer, cand, findJob, fmt, metric, modesOf, workersOf } from './data.ts';
import { trafficTargets } from './traffic.ts';

export type Verdict = 'met' | 'missed' | 'not measured';

export interface TargetCheck {
  id: string;
  target: string;
  where: string;
  value: string;
  required: string;
  verdict: Verdict;
  why?: string;
}

function above(x: number | undefined, floor: number | undefined): string {
  if (x === undefined || floor === undefined) return '? µs from';
  return `${fmt.us(Math.abs(x - floor))} µs ${x >= floor ? 'above' : 'below'}`;
}

function check(cond: boolean | undefined): Verdict {
  return cond === undefined ? 'not measured' : cond ? 'met' : 'missed';
}

/** The subject's measured main-thread cost per call, by origin and hottest functions, from its CPU profile. */
export function profileLine(r: Results, section: string): string | undefined {
  const p = r.profiles.find((x) => x.section === section && !x.error);
  const main = p?.threads.find((t) => t.thread === 'main');
  if (!p || !main || !p.calls) return undefined;
  const perCall = (ms: number) => `${((ms * 1000) / p.calls).toFixed(1)} µs`;
  const origins = main.byOrigin
    .slice(0, 5)
    .map((o) => `${o.origin} ${perCall(o.selfMs)}`)
    .join(', ');
  const fns = main.top
    .slice(0, 5)
    .map((f) => `\`${f.fn}\`${f.where ? ` (${f.where})` : ''} ${perCall(f.selfMs)}`)
    .join(', ');
  return `profile (${p.label}, ${p.calls} calls): main thread busy ${perCall(main.busyMs)} per call: ${origins}. Hottest: ${fns}.`;
}

export function evaluate(r: Results): TargetCheck[] {
  const out: TargetCheck[] = [];
  const modes = (s: Parameters<typeof modesOf>[1]): Mode[] => modesOf(r, s);

  // 1. Round trip: at most half of the best peer's.
  for (const mode of modes('roundtrip')) {
    const j = findJob(r, 'roundtrip', mode);
    const s = metric(cand(j, 'smartasync'), 'median_us');
    const peer = bestPeer(j, 'median_us', false);
    const p = metric(peer, 'median_us');
    const raw = metric(cand(j, 'raw:postMessage'), 'median_us');
    const floor = metric(cand(j, 'floor:atomics'), 'median_us');
    const sCpu = metric(cand(j, 'smartasync'), 'cpu_us_per_call');
    const rawCpu = metric(cand(j, 'raw:postMessage'), 'cpu_us_per_call');
    const ok = s !== undefined && p !== undefined ? s <= p / 2 : undefined;
    out.push({
      id: 'roundtrip',
      target: 'Round trip ≤ ½ best peer',
      where: mode,
      value: `${fmt.us(s)} µs`,
      required: `≤ ${fmt.us(p === undefined ? undefined : p / 2)} µs (½ × ${peer?.id} ${fmt.us(p)} µs)`,
      verdict: check(ok),
      why:
        ok === false
          ? `smartasync ${fmt.us(s)} µs vs raw postMessage ${fmt.us(raw)} µs vs the Atomics floor ${fmt.us(floor)} µs: ` +
            `smartasync is ${fmt.us(s !== undefined && raw !== undefined ? Math.abs(s - raw) : undefined)} µs ${s !== undefined && raw !== undefined && s < raw ? 'under' : 'over'} raw postMessage ` +
            `(main-thread CPU ${fmt.us(sCpu)} vs ${fmt.us(rawCpu)} µs per call) and ${fmt.us(s !== undefined && floor !== undefined ? s - floor : undefined)} µs over the floor. ` +
            (p !== undefined && floor !== undefined
              ? `Half the best peer, ${fmt.us(p / 2)} µs, leaves ${fmt.us(p / 2 - floor)} µs above a bare Atomics ping-pong that carries no object at all` +
                (raw !== undefined && p / 2 < raw ? `, and is below raw postMessage.` : '.')
              : '')
          : undefined,
    });
  }

  // 2. Throughput: ≥ 2× best peer configuration; main-thread CPU ≤ ½ best peer's.
  for (const workers of workersOf(r, 'throughput')) {
    for (const mode of modes('throughput')) {
      const j = findJob(r, 'throughput', mode, workers);
      if (!j) continue;
      const sc = cand(j, 'smartasync');
      const s = metric(sc, 'calls_per_s');
      const sCpu = metric(sc, 'cpu_us_per_call');
      const peer = bestPeer(j, 'calls_per_s', true);
      const p = metric(peer, 'calls_per_s');
      const cpuPeer = bestPeer(j, 'cpu_us_per_call', false);
      const pCpu = metric(cpuPeer, 'cpu_us_per_call');
      const raw = cand(j, 'raw:postMessage');
      const where = `${workers} worker${workers > 1 ? 's' : ''}, ${mode}`;
      const okRate = s !== undefined && p !== undefined ? s >= 2 * p : undefined;
      out.push({
        id: 'throughput',
        target: 'Throughput ≥ 2× best peer config',
        where,
        value: `${fmt.rate(s)} calls/s`,
        required: `≥ ${fmt.rate(p === undefined ? undefined : 2 * p)} (2 × ${peer?.id} ${fmt.rate(p)})`,
        verdict: check(okRate),
        why:
          okRate === false
            ? `smartasync spends ${fmt.us(sCpu)} µs of main-thread CPU per call and the main thread is the bottleneck; raw postMessage reaches ${fmt.rate(metric(raw, 'calls_per_s'))} calls/s at ${fmt.us(metric(raw, 'cpu_us_per_call'))} µs.`
            : undefined,
      });
      const okCpu = sCpu !== undefined && pCpu !== undefined ? sCpu <= pCpu / 2 : undefined;
      out.push({
        id: 'throughput-cpu',
        target: 'Main-thread CPU/call ≤ ½ best peer',
        where,
        value: `${fmt.us(sCpu)} µs`,
        required: `≤ ${fmt.us(pCpu === undefined ? undefined : pCpu / 2)} µs (½ × ${cpuPeer?.id} ${fmt.us(pCpu)} µs)`,
        verdict: check(okCpu),
        why:
          okCpu === false ? `raw postMessage spends ${fmt.us(metric(raw, 'cpu_us_per_call'))} µs per call.` : undefined,
      });
    }
  }

  // 3. Sync direction: ≤ ⅔ of synckit.
  for (const mode of modes('sync')) {
    const j = findJob(r, 'sync', mode);
    const s = metric(cand(j, 'smartasync.sync'), 'median_us');
    const k = metric(cand(j, 'synckit:default'), 'median_us');
    const floor = metric(cand(j, 'floor:atomics-sync'), 'median_us');
    const ok = s !== undefined && k !== undefined ? s <= (2 * k) / 3 : undefined;
    out.push({
      id: 'sync',
      target: 'f.sync() ≤ ⅔ synckit',
      where: mode,
      value: `${fmt.us(s)} µs`,
      required: `≤ ${fmt.us(k === undefined ? undefined : (2 * k) / 3)} µs (⅔ × synckit ${fmt.us(k)} µs)`,
      verdict: check(ok),
      why:
        ok === false
          ? `the Atomics floor for the sync direction is ${fmt.us(floor)} µs; smartasync.sync is ${above(s, floor)} it, synckit ${above(k, floor)} it.` +
            (k !== undefined && floor !== undefined && (2 * k) / 3 < floor
              ? ` ⅔ of synckit (${fmt.us((2 * k) / 3)} µs) is below that floor, a bare futex hand-off each way with no message at all: reaching it needs a cheaper hand-off than a futex wake-up, such as a worker that spins and burns a core.`
              : '')
          : undefined,
    });
  }

  // 4. Payload: main-thread CPU ≤ ½ raw postMessage's. The issue allows avoiding the copy
  // where the result goes straight to an HTTP response, so f.json() is checked too, in a row
  // of its own, next to the same trick done by hand (raw:postMessage+JSON).
  for (const mode of modes('payload')) {
    const j = findJob(r, 'payload', mode);
    const raw = metric(cand(j, 'raw:postMessage'), 'cpu_us_per_call');
    const rawJson = metric(cand(j, 'raw:postMessage+JSON'), 'cpu_us_per_call');
    // The same baseline returning a small object, from the round-trip job of the same mode:
    // the difference is what receiving the 1,000 rows costs the main thread.
    const rawSmall = metric(cand(findJob(r, 'roundtrip', mode), 'raw:postMessage'), 'cpu_us_per_call');
    const receive = raw !== undefined && rawSmall !== undefined ? raw - rawSmall : undefined;
    const forms: [string, string][] = [
      ['smartasync', '1,000 rows: main-thread CPU ≤ ½ raw'],
      ['smartasync.json', '1,000 rows as JSON text (f.json()): main-thread CPU ≤ ½ raw'],
    ];
    for (const [id, target] of forms) {
      const c = j?.candidates.find((x) => x.id === id);
      if (!c) continue;
      const s = metric(c.error ? undefined : c, 'cpu_us_per_call');
      const ok = s !== undefined && raw !== undefined ? s <= raw / 2 : undefined;
      out.push({
        id: id === 'smartasync' ? 'payload' : 'payload-json',
        target,
        where: mode,
        value: `${fmt.us(s)} µs`,
        required: `≤ ${fmt.us(raw === undefined ? undefined : raw / 2)} µs (½ × raw ${fmt.us(raw)} µs)`,
        verdict: check(ok),
        why:
          ok === false
            ? id === 'smartasync'
              ? `receiving the rows costs raw postMessage ${fmt.us(receive)} µs of main-thread CPU per call (its payload call minus its no-op call), ` +
                `${raw !== undefined && receive !== undefined ? Math.round((receive / raw) * 100) : '?'}% of its total: structured-clone deserialisation and the garbage it leaves. ` +
                `Halving it with objects as the result means materialising them more cheaply than V8's deserializer; otherwise the rows must stay off the main thread (f.json()).`
              : `the same trick done by hand, JSON.stringify on the worker and postMessage of the string, costs the main thread ${fmt.us(rawJson)} µs per call.`
            : undefined,
      });
    }
  }

  // 5. The application.
  if (r.app && 'summary' in r.app) out.push(...appTargets(r.app, r.meta.cpus));

  // 6. Server traffic (issue 7).
  out.push(...trafficTargets(r));
  return out;
}

function appTargets(app: AppResult, cores: number): TargetCheck[] {
  const get = (b: Build, s: Scenario) => app.summary.find((x) => x.build === b && x.scenario === s)?.light;
  const sPoolAlone = app.summary.find((x) => x.build === 'smartasync' && x.scenario === 'alone')?.pool;
  const sPoolLoad = app.summary.find((x) => x.build === 'smartasync' && x.scenario === 'with-report')?.pool;
  const sReport = app.summary.find((x) => x.build === 'smartasync' && x.scenario === 'with-report')?.report;
  const sCpu = app.summary.find((x) => x.build === 'smartasync' && x.scenario === 'alone')?.cpu;
  const nCpu = app.summary.find((x) => x.build === 'naive' && x.scenario === 'alone')?.cpu;
  const total = (c: { mainUs: number; workersUs: number; otherUs: number }) => c.mainUs + c.workersUs + c.otherUs;
  const sAlone = get('smartasync', 'alone');
  const sLoad = get('smartasync', 'with-report');
  const sHog = get('smartasync', 'with-cpu-hog');
  const sLoopAlone = app.summary.find((x) => x.build === 'smartasync' && x.scenario === 'alone')?.loop;
  const sLoopLoad = app.summary.find((x) => x.build === 'smartasync' && x.scenario === 'with-report')?.loop;
  const nAlone = get('naive', 'alone');
  const nLoad = get('naive', 'with-report');
  const mAlone = get('manual-piscina', 'alone');
  const mLoad = get('manual-piscina', 'with-report');
  const out: TargetCheck[] = [];
  const ok1 = sAlone && sLoad ? sLoad.p99Ms <= 2 * sAlone.p99Ms : undefined;
  out.push({
    id: 'app-p99',
    target: 'Light p99 with report ≤ 2× alone',
    where: 'smartasync build',
    value: `${fmt.ms(sLoad?.p99Ms)} ms`,
    required: `≤ ${fmt.ms(sAlone ? 2 * sAlone.p99Ms : undefined)} ms (2 × ${fmt.ms(sAlone?.p99Ms)} ms alone)`,
    verdict: check(ok1),
    why:
      ok1 === false
        ? `with the report running, light p50 is ${fmt.ms(sLoad?.p50Ms)} ms (alone ${fmt.ms(sAlone?.p50Ms)} ms) at ${fmt.rate(sLoad?.requestsPerSec)} req/s; ` +
          `${sLoad ? (sLoad.over2msShare * 100).toFixed(2) : '?'}% of light requests took over 2 ms (alone ${sAlone ? (sAlone.over2msShare * 100).toFixed(2) : '?'}%, busy-core control ${sHog ? (sHog.over2msShare * 100).toFixed(2) : '?'}%), ` +
          `${sLoad ? (sLoad.over10msShare * 100).toFixed(2) : '?'}% over 10 ms (alone ${sAlone ? (sAlone.over10msShare * 100).toFixed(2) : '?'}%). ` +
          (sPoolLoad && sPoolAlone
            ? `The pool's own statistics: calls waited ${sPoolLoad.meanWaitMs.toFixed(3)} ms on average for a worker (alone ${sPoolAlone.meanWaitMs.toFixed(3)} ms)` +
              (sLoad && sAlone && sLoad.over10msShare > sAlone.over10msShare + 0.001
                ? ': some light calls wait out a whole report. '
                : sLoad && sHog && sLoad.over2msShare > 1.5 * sHog.over2msShare
                  ? `: light calls rarely wait out a whole report, but more of them than in the busy-core control wait a few ms (over 2 ms: ${(sLoad.over2msShare * 100).toFixed(2)}% vs ${(sHog.over2msShare * 100).toFixed(2)}%), consistent with calls placed on the worker that is running a report until the pool moves them. `
                  : ': light calls do not wait behind reports. ')
            : '') +
          (sLoopLoad && sLoopAlone
            ? `The server's event loop ran late by p99 ${fmt.ms(sLoopLoad.p99Ms)} ms with the report (alone ${fmt.ms(sLoopAlone.p99Ms)} ms, max ${fmt.ms(sLoopLoad.maxMs)} ms). `
            : '') +
          (sHog
            ? `Control: with a separate busy-loop process taking one core instead of the report (the server untouched), light p99 is ${fmt.ms(sHog.p99Ms)} ms at ${fmt.rate(sHog.requestsPerSec)} req/s` +
              (sLoad && sHog.p99Ms >= 0.75 * sLoad.p99Ms
                ? ': the rise is the machine losing a core, not smartasync. '
                : '. ')
            : '') +
          `The report itself (${fmt.rate(sReport?.requestsPerSec)} req/s × p50 ${fmt.ms(sReport?.p50Ms)} ms) keeps ≈${sReport ? ((sReport.requestsPerSec * sReport.p50Ms) / 1000).toFixed(2) : '?'} of the ${cores} cores busy, which the server's main thread, the light queries and the load generator then share. ` +
          `For comparison the manual piscina build goes from p99 ${fmt.ms(mAlone?.p99Ms)} to ${fmt.ms(mLoad?.p99Ms)} ms under the same load; naive from ${fmt.ms(nAlone?.p99Ms)} to ${fmt.ms(nLoad?.p99Ms)} ms.`
        : undefined,
  });
  const ok2 = sAlone && nAlone ? sAlone.requestsPerSec >= 0.9 * nAlone.requestsPerSec : undefined;
  out.push({
    id: 'app-vs-naive',
    target: 'Light req/s alone ≥ 0.9× naive',
    where: 'no report running',
    value: `${fmt.rate(sAlone?.requestsPerSec)} req/s`,
    required: `≥ ${fmt.rate(nAlone ? 0.9 * nAlone.requestsPerSec : undefined)} (0.9 × naive ${fmt.rate(nAlone?.requestsPerSec)})`,
    verdict: check(ok2),
    why:
      ok2 === false
        ? `each light request pays one offloaded call; at ${fmt.rate(sAlone?.requestsPerSec)} req/s that is ${fmt.us(sAlone && nAlone ? 1e6 / sAlone.requestsPerSec - 1e6 / nAlone.requestsPerSec : undefined)} µs more wall time per request than running the query inline.` +
          (sCpu && nCpu
            ? ` Measured CPU per request: naive ${fmt.us(total(nCpu))} µs in the server (main thread ${fmt.us(nCpu.mainUs)}), smartasync ${fmt.us(total(sCpu))} µs ` +
              `(main thread ${fmt.us(sCpu.mainUs)}, workers ${fmt.us(sCpu.workersUs)}, other threads ${fmt.us(sCpu.otherUs)}); the load generator adds ${fmt.us(nCpu.loadgenUs)} / ${fmt.us(sCpu.loadgenUs)} µs on the same ${cores} cores. ` +
              `Every core is busy, so throughput follows the machine's CPU per request: ${cores} cores / ${fmt.us(total(nCpu) + nCpu.loadgenUs)} µs ≈ ${fmt.rate((cores * 1e6) / (total(nCpu) + nCpu.loadgenUs))} req/s for naive, ` +
              `/ ${fmt.us(total(sCpu) + sCpu.loadgenUs)} µs ≈ ${fmt.rate((cores * 1e6) / (total(sCpu) + sCpu.loadgenUs))} req/s for smartasync. ` +
              `Reaching 0.9 × naive here needs the smartasync server at ≤ ${fmt.us(nAlone ? (cores * 1e6) / (0.9 * nAlone.requestsPerSec) - sCpu.loadgenUs : undefined)} µs of CPU per request in total, ` +
              `i.e. the offload (main-thread send and wake-ups, the worker's wake-ups) at no more than ≈${fmt.us(nAlone ? (cores * 1e6) / (0.9 * nAlone.requestsPerSec) - sCpu.loadgenUs - total(nCpu) : undefined)} µs over running the query inline; it costs ${fmt.us(total(sCpu) - total(nCpu))} µs now.`
            : '')
        : undefined,
  });
  const ok3 = sAlone && mAlone ? sAlone.requestsPerSec > mAlone.requestsPerSec : undefined;
  out.push({
    id: 'app-vs-manual',
    target: 'Light req/s ahead of manual piscina',
    where: 'no report running',
    value: `${fmt.rate(sAlone?.requestsPerSec)} req/s`,
    required: `> ${fmt.rate(mAlone?.requestsPerSec)} (manual piscina)`,
    verdict: check(ok3),
  });
  return out;
}
