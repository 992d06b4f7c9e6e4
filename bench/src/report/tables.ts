// The tables of results.md, one per comparison, each under a line naming the scenario file that made it.
import type { CandidateResult, JobResult, Section } from '../micro.ts';
import type { ThreadProfile } from '../profile.ts';
import { ok, type Part, type ProfileResult, type Results, type TrafficResult } from '../results.ts';
import type { Recorded } from '../lib/stats.ts';
import type { TrafficAppResult } from '../traffic/app.ts';
import type { IdleResult } from '../traffic/idle.ts';
import type { MixedResult } from '../traffic/mixed.ts';
import type { OpenLoopResult } from '../traffic/openloop.ts';
import { GAPS, type SpacedResult } from '../traffic/spaced.ts';
import { bold, find, jobsOf, modes, ms, pct, poolSizes, rate, rate6, ratio, table, us } from './format.ts';

type N = number | undefined;
const src = (f: string) => `Scenario: [\`${f}\`](../${f}).`;
const name = (c: CandidateResult) => (c.kind === 'subject' ? `**${c.id}**` : c.id);
/** A part's text; or that it was not run, or failed (the first line of its error). */
function part<T extends object>(p: Part<T> | undefined, text: (x: T) => string, notRun = '_not run_') {
  const x = ok(p);
  return x ? text(x) : p ? `_failed: ${(p as { error: string }).error.split('\n')[0]}_` : notRun;
}
/** A failed candidate's row: its name, its error in column `at`, the other cells empty. */
const errorRow = (name: string, error: string, cols: number, at = 1) =>
  [name, ...Array<string>(at - 1).fill(''), `_${error}_`, ...Array<string>(cols - at - 1).fill('')].join(' | ');
const cell = (c: CandidateResult, key: string, f: (x: N) => string) =>
  c.metrics[key] ? `${f(c.metrics[key].median)} <sub>${f(c.metrics[key].min)}–${f(c.metrics[key].max)}</sub>` : '–';
/** Candidates best first by `key`, then the failed ones with their error. */
const rows = (j: JobResult, key: string, dir: 1 | -1, cols: number, row: (c: CandidateResult) => string) => [
  ...j.candidates
    .filter((c) => !c.error)
    .sort((a, b) => dir * ((a.metrics[key]?.median ?? 0) - (b.metrics[key]?.median ?? 0)))
    .map(row),
  ...j.candidates.filter((c) => c.error).map((c) => errorRow(name(c), c.error!, cols)),
];

export function latencyTable(r: Results, section: Section): string {
  const head = 'candidate|median µs|p99 µs|pooled p50 / p99 µs|main CPU µs/call';
  const row = (c: CandidateResult) =>
    `${name(c)} | ${cell(c, 'median_us', us)} | ${cell(c, 'p99_us', us)} | ${c.pooled ? `${us(c.pooled.p50)} / ${us(c.pooled.p99)}` : '–'} | ${cell(c, 'cpu_us_per_call', us)}`;
  const tables = modes(r, section).map((mode) => {
    const j = find(r, section, mode)!;
    return `**${mode}** (${j.job.rounds} rounds × ${j.job.block} calls)\n\n${table(head, rows(j, 'median_us', 1, 5, row))}`;
  });
  return [src('src/micro.ts'), ...tables].join('\n\n');
}

export function throughputTable(r: Results): string {
  const row = (c: CandidateResult) =>
    `${name(c)} | ${cell(c, 'calls_per_s', rate)} | ${cell(c, 'cpu_us_per_call', us)} | ${c.note}`;
  const tables = poolSizes(r, 'throughput').flatMap((workers) =>
    jobsOf(r, 'throughput')
      .filter((j) => j.job.workers === workers)
      .map(
        (j) =>
          `**${workers} worker${workers > 1 ? 's' : ''}, ${j.job.mode}** (${j.job.rounds} rounds × ${j.job.block} calls, ${j.job.inFlight} in flight)\n\n` +
          table('candidate|calls/s|main CPU µs/call|configuration', rows(j, 'calls_per_s', -1, 4, row)),
      ),
  );
  return [src('src/micro.ts'), ...tables].join('\n\n');
}

const builds = (bs: { build: string; note: string }[]) => bs.map((b) => `- \`${b.build}\`: ${b.note}`).join('\n');
const errors = (es: { build: string; error: string }[]) =>
  es.length ? `\n\nErrors: ${es.map((e) => `${e.build}: ${e.error}`).join('; ')}` : '';

export const appTable = (r: Results) =>
  part(r.app, ({ params: p, summary, errors: failed }) => {
    const pct2 = (x: number) => `${(x * 100).toFixed(2)}%`;
    const main = summary.map(
      ({ build, scenario, light: l, report, loop, pool }) =>
        `${bold(build)} | ${scenario} | ${rate(l.requestsPerSec)} | ${us(l.p50Ms)} | ${us(l.p99Ms)} | ${us(l.maxMs)} | ${pct2(l.over2msShare ?? NaN)} | ${pct2(l.over10msShare)} | ${report ? report.requestsPerSec.toFixed(1) : '–'} | ${report ? us(report.p50Ms) : '–'} | ${loop ? us(loop.p99Ms) : '–'} | ${pool ? pool.meanWaitMs.toFixed(3) : '–'} | ${l.errors} / ${l.non2xx}`,
    );
    const cpuRow = (build: string, c: { mainUs: number; workersUs: number; otherUs: number; loadgenUs: number }) =>
      `${build} | ${us(c.mainUs)} | ${us(c.workersUs)} | ${us(c.otherUs)} | ${us(c.mainUs + c.workersUs + c.otherUs)} | ${us(c.loadgenUs)}`;
    const cpu = summary.flatMap(({ build, cpu: c }) => (c ? [cpuRow(build, c)] : []));
    const head = `build|scenario|light req/s|light p50 ms|light p99 ms|light max ms|light > 2 ms|light > 10 ms|report req/s|report p50 ms|server loop delay p99 ms|pool wait ms/call|errors / non-2xx`;
    const cpuHead = 'build|server main thread|server workers|server other threads|server total|load generator';
    const cpuText = `\n\nCPU µs per light request with no report running (\`/proc/<pid>/task/*/stat\`):\n\n${table(cpuHead, cpu)}`;
    return `${src('src/app/users-api.ts')} ${p.rounds} round(s) of ${p.seconds} s per build and scenario, builds interleaved; ${p.lightConnections} autocannon connections on \`GET /users/:id\`, ${p.reportConnections} on \`GET /reports/users\`.\n\n${builds(p.builds)}\n\n${table(head, main)}${cpu.length ? cpuText : ''}${errors(failed)}`;
  });

type Start = { start?: { method: string; ms: number; workers?: number } };
const startWords = ({ start: s }: Start) =>
  s ? `${s.method}, ${ms(s.ms)} ms${s.workers !== undefined ? `, ${s.workers} workers up` : ''}` : '–';
const dist3 = (l: Recorded['latency']) => `${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)}`;
const p99cell = (p99: number, rounds: { min: number; max: number }) =>
  `${ms(p99)} <sub>${ms(rounds.min)}–${ms(rounds.max)}</sub>`;
const pq = (x: { p50: number; p99: number }) => `${ms(x.p50)} / ${ms(x.p99)}`;

function spaced(sp: SpacedResult): string {
  const rows = sp.candidates.flatMap((c) =>
    c.error
      ? [errorRow(bold(c.id), c.error, 9, 2)]
      : GAPS.filter((g) => c.gaps[g]).map((g) => {
          const { latency: l, p99Rounds, split } = c.gaps[g]!;
          return `${bold(c.id)} | ${g} | ${ms(l.p50)} | ${p99cell(l.p99, p99Rounds)} | ${ms(l.max)} | ${pct(l.over5ms)} | ${pq(split.queue)} | ${pq(split.reply)} | ${l.count}`;
        }),
  );
  const head = 'candidate|gap|p50 ms|p99 ms|max ms|> 5 ms|to start p50 / p99 ms|reply p50 / p99 ms|calls';
  return `${src('src/traffic/spaced.ts')} ${sp.rounds} round(s) × ${sp.calls} calls per gap; p99 in small print: min–max over rounds. Pools started: ${sp.candidates.map((c) => `${c.id} ${startWords(c)}`).join('; ')}.\n\n${table(head, rows)}`;
}

function openloop(ol: OpenLoopResult): string {
  const rows = ol.candidates.flatMap((c) =>
    c.error
      ? [errorRow(bold(c.id), c.error, 10, 2)]
      : c.points.map(
          ({ rate: offered, achieved, rec: { latency: l, split: s }, p99Rounds }) =>
            `${bold(c.id)} | ${rate6(offered)} | ${rate6(achieved)} | ${ms(l.p50)} | ${p99cell(l.p99, p99Rounds)} | ${ms(l.p999)} | ${ms(l.max)} | ${pq(s.lag)} | ${ms(s.queue.p99)} / ${ms(s.reply.p99)} | ${l.count}`,
        ),
  );
  const head = `candidate|offered /s|done /s|p50 ms|p99 ms|p99.9 ms|max ms|sender late p50 / p99 ms|p99 to start / reply ms|calls`;
  return `${src('src/traffic/openloop.ts')} Calls of ≈${ol.workMs * 1000} µs CPU, ${ol.workers} workers; saturation (closed loop, ${ol.inFlight} in flight): ${ol.candidates.map((c) => `${c.id} ${rate6(c.saturation)}`).join(', ')} calls/s. Latency from each call's intended send time; ${ol.rounds} round(s) × ${ol.seconds} s per rate.\n\n${table(head, rows)}`;
}

function mixed(mx: MixedResult): string {
  const rows = mx.candidates.map((c) =>
    c.error || !c.alone || !c.loaded
      ? errorRow(bold(c.id), c.error ?? 'no data', 9)
      : `${bold(c.id)} | ${dist3(c.alone.latency)} | ${dist3(c.loaded.latency)} | ${ratio(c.loaded.latency.p99, c.alone.latency.p99)} | ${pct(c.loaded.latency.over5ms)} | ${pq(c.loaded.split.queue)} | ${rate6(c.longAlone?.median)} / ${rate6(c.longLoaded?.median)} | ${ms(c.longRunMs?.alone)} / ${ms(c.longRunMs?.loaded)} | ${c.loaded.latency.count}`,
  );
  const head = `candidate|light alone p50 / p99 / max ms|light under long calls p50 / p99 / max ms|p99 ratio|light > 5 ms|light to start p50 / p99 ms|long calls/s alone / with light|long call run ms alone / with light|light calls`;
  return `${src('src/traffic/mixed.ts')} ${mx.workers} workers; a light call every ${mx.lightEveryMs} ms alone, ${mx.longCallers} callers of ≈${mx.longMs} ms calls alone, then both; ${mx.rounds} round(s) × ${mx.seconds} s per phase.\n\n${table(head, rows)}`;
}

function app(a: TrafficAppResult): string {
  const order = (s: (typeof a.scenarios)[number]) =>
    s.scenario === 'alone' ? 0 : s.scenario === 'with-report' ? 1 : 2 + (s.rate ?? 0) / 1e9;
  const rows = [...a.scenarios]
    .sort((x, y) => order(x) - order(y) || x.build.localeCompare(y.build))
    .map(
      ({ scenario, build, achieved, latency: l, p99Rounds, report, loop, pool, errors }) =>
        `${scenario} | ${bold(build)} | ${rate6(achieved)} | ${ms(l.p50)} | ${p99cell(l.p99, p99Rounds)} | ${ms(l.p999)} | ${ms(l.max)} | ${pct(l.over5ms)} | ${report ? `${report.requestsPerSec.toFixed(1)} / ${ms(report.p50Ms)}` : '–'} | ${loop ? ms(loop.p99Ms) : '–'} | ${pool ? ms(pool.meanWaitMs) : '–'} | ${errors}`,
    );
  const first = a.firstRequest.map((x) => {
    if (x.error) return errorRow(x.build, x.error, 7);
    const threads = [x.starts.map((s) => s.workersAtFirst), x.starts.map((s) => s.workersAfterFirst)].map((xs) =>
      [...new Set(xs)].join('/'),
    );
    return `${bold(x.build, 'smartasync (npm start)')} | ${x.entry} | ${ms(x.listenMs)} | ${ms(x.firstMs)} | ${ms(x.warmMs)} | ${ratio(x.firstMs, x.warmMs)} | ${threads[0] ? threads.join(' → ') : '–'}`;
  });
  const head = `scenario|build|req/s|p50 ms|p99 ms|p99.9 ms|max ms|> 5 ms|report req/s / p50 ms|server loop delay p99 ms|pool wait ms/call|errors`;
  const firstHead = `server|started as|spawn → listening ms|first request ms|warm request ms|first / warm|worker threads before → after the first request`;
  return `${src('src/traffic/app.ts')} \`alone\`: ${a.lightConnections} client looping \`GET /users/:id\` for ${a.seconds} s; \`with-report\`: the same while ${a.reportConnections} clients loop \`GET /reports/users\`; \`open-N\`: Poisson arrivals at N req/s for ${a.openSeconds} s, latency from the intended send time. ${a.rounds} round(s); p99 in small print: min–max over rounds.\n\n${builds(a.builds)}\n\n${table(head, rows)}\n\n**First request after start** (median over fresh starts; warm: median of 31 later requests, each on a new connection):\n\n${table(firstHead, first)}${errors(a.errors)}`;
}

function idle(x: IdleResult): string {
  const rows = x.candidates.map((c) =>
    c.error
      ? errorRow(bold(c.id), c.error, 9)
      : `${bold(c.id)} | ${c.id === 'node' ? '–' : startWords(c)} | ${ms(c.firstCallMs)} | ${ms(c.warmCallMs)} | ${pct(c.coreShare, 2)} | ${c.threads ? `${ms(c.threads.main)} / ${ms(c.threads.workers)} / ${ms(c.threads.other)}` : '–'} | ${c.wakeupsPerS ? `${c.wakeupsPerS.main.toFixed(0)} / ${c.wakeupsPerS.workers.toFixed(0)}` : '–'} | ${ms(c.afterIdleCallMs)} | ${c.workers ?? '–'}`,
  );
  const head = `candidate|start|first call ms|warm call ms|idle CPU (share of a core)|CPU ms main / workers / helpers|switches/s main / workers|call after idle ms|workers`;
  return `${src('src/traffic/idle.ts')} One process per candidate, ${x.workers} workers each, idle for ${x.seconds} s; \`node\` has no pool.\n\n${table(head, rows)}`;
}

/** Section 6: its parts under their headings, each below its chart (`chart` is '' for none). */
export function trafficTables(r: Results, chart: (name: string) => string): string {
  const text = (t: TrafficResult) => {
    const sections = [
      `### 6.1 Spaced calls\n\n${chart('traffic-spaced')}${part(t.spaced, spaced)}`,
      `### 6.2 Open-loop arrivals\n\n${chart('traffic-openloop')}${part(t.openloop, openloop)}`,
      `### 6.3 Light calls among long calls\n\n${chart('traffic-mixed')}${part(t.mixed, mixed)}`,
      `### 6.4 The users API under traffic\n\n${chart('traffic-app')}${part(t.app, app)}`,
      `### 6.5 Idle cost and first call\n\n${part(t.idle, idle)}`,
    ];
    return `smartasync, piscina with its defaults and a hand-written \`worker_threads\` pool, ${t.params.workers} workers each, interleaved in rounds, unpinned.\n\n${sections.join('\n\n')}\n`;
  };
  return part(r.traffic, text, '_not run (`--sections=traffic`)_');
}

export function profiles(r: Results): string {
  if (!r.profiles.length) return '_not profiled in this run (`--profile`)_';
  const thread = (p: ProfileResult, t: ThreadProfile) => {
    const perCall = (ms: number) => (p.calls ? ((ms * 1000) / p.calls).toFixed(2) : '–');
    const row = (f: ThreadProfile['top'][number]) =>
      `${f.fn.replace(/\|/g, '\\|')} | ${f.where || '(native)'} | ${f.origin} | ${(f.share * 100).toFixed(1)}% | ${perCall(f.selfMs)}`;
    return `**${p.label} — ${t.thread} thread${t.thread === 'workers' ? 's' : ''}**: ${t.busyMs.toFixed(0)} ms busy over ${p.calls} calls = ${perCall(t.busyMs)} µs per call\n\nBy origin: ${t.byOrigin.map((o) => `${o.origin} ${(o.share * 100).toFixed(1)}%`).join(' · ')}\n\n${table('function|where|origin|share of busy|µs per call', t.top.slice(0, 10).map(row))}`;
  };
  return r.profiles
    .flatMap((p) => (p.error ? [`**${p.label}**: failed (${p.error})`] : p.threads.map((t) => thread(p, t))))
    .join('\n\n');
}
