// results.md: every table, the target verdicts with their measured reasons, and the profiles.
import type { CandidateResult, JobResult, Section } from '../job.ts';
import type { Results } from '../results.ts';
import { findJob, fmt, modesOf, okJobs, table, workersOf } from './data.ts';
import { profileLine, type TargetCheck } from './targets.ts';
import { trafficMarkdown } from './traffic.ts';

function spreadCell(c: CandidateResult, key: string, f: (x: number | undefined) => string): string {
  const m = c.metrics[key];
  if (!m) return '–';
  return `${f(m.median)} <sub>${f(m.min)}–${f(m.max)}</sub>`;
}

function name(c: CandidateResult): string {
  return c.kind === 'subject' ? `**${c.id}**` : c.id;
}

function failedRows(j: JobResult, cols: number): string[][] {
  return j.candidates.filter((c) => c.error).map((c) => [name(c), `_${c.error}_`, ...Array(cols - 2).fill('')]);
}

function latencyTable(r: Results, section: Section, withCpu: boolean): string {
  const parts: string[] = [];
  for (const mode of modesOf(r, section)) {
    const j = findJob(r, section, mode)!;
    const ok = j.candidates
      .filter((c) => !c.error)
      .sort((a, b) => (a.metrics.median_us?.median ?? 0) - (b.metrics.median_us?.median ?? 0));
    const head = ['candidate', 'median µs', 'p99 µs', 'pooled p50 / p99 µs', ...(withCpu ? ['main CPU µs/call'] : [])];
    const body = ok.map((c) => [
      name(c),
      spreadCell(c, 'median_us', fmt.us),
      spreadCell(c, 'p99_us', fmt.us),
      c.pooled ? `${fmt.us(c.pooled.p50)} / ${fmt.us(c.pooled.p99)}` : '–',
      ...(withCpu ? [spreadCell(c, 'cpu_us_per_call', fmt.us)] : []),
    ]);
    parts.push(
      `**${mode}** (${j.job.rounds} rounds × ${j.job.block} calls)\n\n${table(head, [...body, ...failedRows(j, head.length)])}`,
    );
  }
  return parts.join('\n\n');
}

function throughputTable(r: Results): string {
  const parts: string[] = [];
  for (const workers of workersOf(r, 'throughput')) {
    for (const mode of modesOf(r, 'throughput')) {
      const j = findJob(r, 'throughput', mode, workers);
      if (!j) continue;
      const ok = j.candidates
        .filter((c) => !c.error)
        .sort((a, b) => (b.metrics.calls_per_s?.median ?? 0) - (a.metrics.calls_per_s?.median ?? 0));
      const head = ['candidate', 'calls/s', 'main CPU µs/call', 'configuration'];
      const body = ok.map((c) => [
        name(c),
        spreadCell(c, 'calls_per_s', fmt.rate),
        spreadCell(c, 'cpu_us_per_call', fmt.us),
        c.note,
      ]);
      parts.push(
        `**${workers} worker${workers > 1 ? 's' : ''}, ${mode}** (${j.job.rounds} rounds × ${j.job.block} calls, ${j.job.inFlight} in flight)\n\n${table(head, [...body, ...failedRows(j, head.length)])}`,
      );
    }
  }
  return parts.join('\n\n');
}

function appSection(r: Results): string {
  if (!r.app) return '_not run_';
  if ('error' in r.app) return `_failed: ${r.app.error.split('\n')[0]}_`;
  const a = r.app;
  const p = a.params;
  const head = [
    'build',
    'scenario',
    'light req/s',
    'light p50 ms',
    'light p99 ms',
    'light max ms',
    'light > 2 ms',
    'light > 10 ms',
    'report req/s',
    'report p50 ms',
    'server loop delay p99 ms',
    'pool wait ms/call',
    'errors / non-2xx',
  ];
  const body = a.summary.map((s) => [
    s.build === 'smartasync' ? '**smartasync**' : s.build,
    s.scenario,
    fmt.rate(s.light.requestsPerSec),
    fmt.ms(s.light.p50Ms),
    fmt.ms(s.light.p99Ms),
    fmt.ms(s.light.maxMs),
    `${((s.light.over2msShare ?? Number.NaN) * 100).toFixed(2)}%`,
    `${(s.light.over10msShare * 100).toFixed(2)}%`,
    s.report ? s.report.requestsPerSec.toFixed(1) : '–',
    s.report ? fmt.ms(s.report.p50Ms) : '–',
    s.loop ? fmt.ms(s.loop.p99Ms) : '–',
    s.pool ? s.pool.meanWaitMs.toFixed(3) : '–',
    `${s.light.errors} / ${s.light.non2xx}`,
  ]);
  const builds = p.builds.map((b) => `- \`${b.build}\`: ${b.note}`).join('\n');
  const cpuRows = a.summary
    .filter((s) => s.cpu)
    .map((s) => {
      const c = s.cpu!;
      return [
        s.build,
        fmt.us(c.mainUs),
        fmt.us(c.workersUs),
        fmt.us(c.otherUs),
        fmt.us(c.mainUs + c.workersUs + c.otherUs),
        fmt.us(c.loadgenUs),
      ];
    });
  const cpuTable = cpuRows.length
    ? `\n\nCPU time per light request with no report running (from \`/proc/<pid>/task/*/stat\` of the server, and the runner's own CPU for autocannon), µs:\n\n` +
      table(
        ['build', 'server main thread', 'server workers', 'server other threads', 'server total', 'load generator'],
        cpuRows,
      )
    : '';
  const errs = a.errors.length ? `\n\nErrors: ${a.errors.map((e) => `${e.build}: ${e.error}`).join('; ')}` : '';
  return (
    `${p.rounds} round(s) of ${p.seconds} s per build and scenario, builds interleaved; light load ${p.lightConnections} connections on ` +
    `\`GET /users/:id\` (random ids of ${p.users} users); report load ${p.reportConnections} connection(s) on \`GET /reports/users\` ` +
    `(PBKDF2 cost ${p.reportCost}). Server and load generator on the same 2 cores.\n\n${builds}\n\n${table(head, body)}${cpuTable}${errs}`
  );
}

function profiles(r: Results): string {
  if (!r.profiles.length) return '_not profiled in this run (`--profile`)_';
  const parts: string[] = [];
  for (const p of r.profiles) {
    if (p.error) {
      parts.push(`**${p.label}**: failed (${p.error})`);
      continue;
    }
    for (const t of p.threads) {
      const origins = t.byOrigin.map((o) => `${o.origin} ${(o.share * 100).toFixed(1)}%`).join(' · ');
      const perCall = (ms: number) => (p.calls ? ((ms * 1000) / p.calls).toFixed(2) : '–');
      const rows = t.top
        .slice(0, 10)
        .map((f) => [
          f.fn.replace(/\|/g, '\\|'),
          f.where || '(native)',
          f.origin,
          `${(f.share * 100).toFixed(1)}%`,
          perCall(f.selfMs),
        ]);
      parts.push(
        `**${p.label} — ${t.thread} thread${t.thread === 'workers' ? 's' : ''}**: ${t.busyMs.toFixed(0)} ms busy over ${p.calls} calls = ${perCall(t.busyMs)} µs per call\n\n` +
          `By origin: ${origins}\n\n${table(['function', 'where', 'origin', 'share of busy', 'µs per call'], rows)}`,
      );
    }
  }
  return parts.join('\n\n');
}

// Unpinned, a call's latency depends on whether the two threads share a core or the woken one
// must bring an idle core back: on a VM that shows as whole rounds at one of two levels.
function bimodal(r: Results): string {
  const wide: string[] = [];
  for (const section of ['roundtrip', 'sync'] as Section[]) {
    const j = findJob(r, section, 'unpinned');
    for (const c of j?.candidates ?? []) {
      const m = c.metrics.median_us;
      if (m && m.min > 0 && m.max / m.min > 3) wide.push(`${c.id} ${fmt.us(m.min)}–${fmt.us(m.max)} µs`);
    }
  }
  if (!wide.length) return '';
  return (
    ` In this run the unpinned round medians jumped between two levels (${wide.slice(0, 6).join(', ')}${wide.length > 6 ? ', …' : ''}): ` +
    `the level is set by where the scheduler placed the caller and its worker for that block. Checked with /proc/<pid>/task/*/stat on synckit: ` +
    `every block with caller and worker on different cores ran at ≈50 µs, the cost of waking a halted vCPU on this VM; on one core (pinned) the same calls take ≈8 µs. ` +
    `An unpinned median over rounds therefore mostly counts how many rounds drew which placement.`
  );
}

/** The targets table alone: results.md opens with it and the README embeds it. */
export function targetsTable(checks: TargetCheck[]): string {
  const icon = (v: TargetCheck['verdict']) =>
    v === 'met' ? '✅ met' : v === 'missed' ? '❌ missed' : '– not measured';
  return table(
    ['target', 'where', 'smartasync', 'required', 'verdict'],
    checks.map((c) => [c.target, c.where, c.value, c.required, icon(c.verdict)]),
  );
}

export function markdown(r: Results, checks: TargetCheck[], charts: string[]): string {
  const m = r.meta;
  const misses = checks.filter((c) => c.verdict === 'missed' && c.why);
  const why = [...new Set(misses.map((c) => c.id))].map((id) => {
    const rows = misses.filter((c) => c.id === id);
    const section = id.startsWith('throughput')
      ? 'throughput'
      : id.startsWith('payload')
        ? 'payload'
        : id.startsWith('app') || id.startsWith('traffic')
          ? ''
          : id;
    const prof = section ? profileLine(r, section) : undefined;
    return [
      `- **${rows[0]!.target}**`,
      ...rows.map((c) => `  - ${c.where}: ${c.why}`),
      ...(prof ? [`  - ${prof}`] : []),
    ].join('\n');
  });
  const unavailable = [...new Set(okJobs(r).flatMap((j) => j.unavailable.map((u) => `${u.adapter}: ${u.error}`)))];
  const failedJobs = r.jobs.filter((j) => !('candidates' in j)) as { job: JobResult['job']; error: string }[];
  const chart = (n: string) => (charts.includes(`${n}.svg`) ? `![${n}](${n}.svg)\n\n` : '');
  const issue4 = checks.filter((c) => !c.id.startsWith('traffic'));
  const issue7 = checks.filter((c) => c.id.startsWith('traffic'));
  const met = issue4.filter((c) => c.verdict === 'met').length;
  const missed = issue4.filter((c) => c.verdict === 'missed').length;
  const met7 = issue7.filter((c) => c.verdict === 'met').length;
  const missed7 = issue7.filter((c) => c.verdict === 'missed').length;

  return `# smartasync benchmark results

Generated by \`${m.command}\` on ${m.date} (${m.size} run, ${m.wallSeconds ?? '?'} s).
Node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.platform}; commit ${m.commit}; smartasync ${m.smartasyncVersion ?? 'not installed'} (build ${m.smartasyncBuild ?? '?'}).
Load average before/after: ${m.loadavgBefore.map((x) => x.toFixed(2)).join(' ')} / ${m.loadavgAfter?.map((x) => x.toFixed(2)).join(' ') ?? '?'}.${m.otherCores !== undefined ? ` Other processes kept ${m.otherCores.toFixed(2)} of the ${m.cpus} cores busy on average during the run.` : ''}
${m.otherCores !== undefined && m.otherCores > 0.1 ? `\n**Other processes took ${m.otherCores.toFixed(2)} cores on average during this run: its tails are disturbed. Run again on a quiet machine.**\n` : ''}
${m.pinningAvailable ? '' : '\n**taskset was not available: no pinned figures in this run.**\n'}${m.smartasyncBuildAfter !== undefined && m.smartasyncBuildAfter !== m.smartasyncBuild ? `\n**smartasync was rebuilt during this run (build ${m.smartasyncBuild} → ${m.smartasyncBuildAfter}): its figures mix two versions. Run again.**\n` : ''}
Every comparison runs all its candidates in one process, interleaved in blocks (round *r* starts at
candidate *r* mod *n*). Figures are the **median over rounds** of each round's value, with the
min–max over rounds in small print; "pooled" percentiles are over every call of every round.
*pinned* = the whole process (main thread and workers) under \`taskset -c 0\`; *unpinned* = free on both cores.
${m.size !== 'full' ? `\n> **This is a ${m.size} run**: few, short blocks. Use a full run (\`npm run bench\`) for figures to quote.\n` : ''}
## Targets (issue 4)

${
  issue4.length
    ? `${met} met, ${missed} missed. The issue set its targets with figures pinned to one core; the pinned rows
are the verdicts of record, the unpinned ones are shown because the issue asks for both.${bimodal(r)}

${targetsTable(issue4)}`
    : '_No comparison of issue 4 in this run._'
}

## Targets (issue 7, server traffic)

${
  issue7.length
    ? `${met7} met, ${missed7} missed. Ratios measured side by side in one run, unpinned; details in section 6.

${targetsTable(issue7)}`
    : '_The traffic section was not run (`--sections=traffic`)._'
}
${why.length ? `\n### Why the misses (measured)\n\n${why.join('\n')}\n` : ''}
## 1. Round trip (no-op returning a small object, one call at a time, 1 worker)

${chart('roundtrip')}${latencyTable(r, 'roundtrip', true)}

## 2. Throughput (256 calls in flight)

${chart('throughput')}${throughputTable(r)}

## 3. Payload (a call returning 1,000 rows \`{id, name, email}\`, 1 worker)

${chart('payload')}${latencyTable(r, 'payload', true)}

## 4. Sync direction (\`f.sync()\` of an async function)

${chart('sync')}${latencyTable(r, 'sync', true)}

## 5. The application (users API)

${chart('app')}${appSection(r)}

## 6. Server traffic (issue 7)

${trafficMarkdown(r, chart)}
## Profiles of smartasync (CPU, measured rounds only)

Sampled with \`node --cpu-prof\` in a separate unpinned run of smartasync alone; self time by function,
idle (the event loop waiting) excluded, divided by the calls made. "native builtins" are C++ functions called from
JS (\`postMessage\` includes the structured-clone serialisation of the message); "(program)" is V8/Node native
work outside JS, including message deserialisation and event-loop bookkeeping. The sampler ticks in wall-clock
time: a thread blocked inside \`Atomics.wait\`, or descheduled inside \`Atomics.notify\` / \`postMessage\` right
after waking the other thread, counts as that function's self time. So "busy per call" can exceed the CPU per call
measured with \`process.threadCpuUsage()\` in the tables above; the difference is time spent blocked or preempted.

${profiles(r)}
${unavailable.length || failedJobs.length ? `\n## Problems in this run\n\n${[...unavailable.map((u) => `- adapter not loaded: ${u}`), ...failedJobs.map((f) => `- job ${f.job.section} ${f.job.mode} workers=${f.job.workers} failed: ${f.error}`)].join('\n')}\n` : ''}`;
}
