// results.md (the targets of issues 4, 7 and 16 with a verdict each and, for a miss, its measured reason;
// then one table and one chart per comparison; the profiles), targets.json, the charts, and the
// headline table of bench/README.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Results } from '../results.ts';
import { charts } from './charts.ts';
import { renderSvg, table, type TargetCheck } from './format.ts';
import { appTable, latencyTable, profiles, throughputTable, trafficTables } from './tables.ts';
import { profileLine, targets, type ExportReport } from './targets.ts';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const DEFAULT_RESULTS = resolve(fileURLToPath(new URL('../../results', import.meta.url)));
const [START, END] = ['<!-- headline:start -->', '<!-- headline:end -->'];

/** Whether these results may replace the README's headline: a full run holding every section. */
export function updatesHeadline(r: Results): boolean {
  const sections = ['roundtrip', 'throughput', 'payload', 'sync'].every((s) => r.jobs.some((j) => j.job.section === s));
  return r.meta.size === 'full' && sections && r.app !== undefined && r.traffic !== undefined;
}

/** The targets table alone: results.md opens with it and the README embeds it. */
function targetsTable(checks: TargetCheck[]): string {
  const icon = { met: '✅ met', missed: '❌ missed', 'not measured': '– not measured' };
  return table(
    'target|where|smartasync|required|verdict',
    checks.map((c) => `${c.target} | ${c.where} | ${c.value} | ${c.required} | ${icon[c.verdict]}`),
  );
}

/** The export's report (`npm run export`) beside this one, if it was run: issue 16 judges its time too. */
function exportReport(dir: string): ExportReport | undefined {
  const file = join(dir, 'export.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ExportReport) : undefined;
}

export async function writeReport(r: Results, dir: string): Promise<void> {
  const checks = targets(r, exportReport(dir));
  const specs = Object.entries(charts(r)).filter((e): e is [string, object] => e[1] !== undefined);
  for (const [name, spec] of specs) writeFileSync(join(dir, `${name}.svg`), await renderSvg(spec));
  writeFileSync(join(dir, 'targets.json'), JSON.stringify(checks, null, 1) + '\n');
  const names = specs.map(([name]) => name);
  writeFileSync(join(dir, 'results.md'), markdown(r, checks, names));
  // Only a full run into bench/results holding every section updates the README.
  if (!updatesHeadline(r) || resolve(dir) !== DEFAULT_RESULTS || !existsSync(README)) return;
  const text = readFileSync(README, 'utf8');
  const [a, b] = [text.indexOf(START), text.indexOf(END)];
  if (a < 0 || b < a) return;
  const m = r.meta;
  const block = `${START}\nTargets of issues 4, 7 and 16, from \`${m.command}\` on ${m.date.slice(0, 10)} (Node ${m.node}, ${m.cpus} × ${m.cpuModel}, smartasync ${m.smartasyncVersion ?? '?'} at ${m.commit}); details and reasons in [results.md](results/results.md).\n\n${targetsTable(checks)}\n${END}`;
  writeFileSync(README, text.slice(0, a) + block + text.slice(b + END.length));
}

export function markdown(r: Results, checks: TargetCheck[], charts: string[]): string {
  const m = r.meta;
  const misses = checks.filter((c) => c.verdict === 'missed' && c.why);
  const why = [...new Set(misses.map((c) => c.id))].map((id) => {
    const rows = misses.filter((c) => c.id === id);
    const prof = /^(roundtrip|throughput|payload|sync)/.exec(id)?.[1];
    const line = prof && profileLine(r, prof);
    return [
      `- **${rows[0]!.target}**`,
      ...rows.map((c) => `  - ${c.where}: ${c.why}`),
      ...(line ? [`  - ${line}`] : []),
    ].join('\n');
  });
  const problems = r.jobs.flatMap((j) =>
    'error' in j ? [`- job ${j.job.section} ${j.job.mode} workers=${j.job.workers} failed: ${j.error}`] : [],
  );
  const issue16 = checks.filter((c) => c.id.startsWith('i16-'));
  const issue7 = checks.filter((c) => c.id.startsWith('traffic'));
  const issue4 = checks.filter((c) => !issue7.includes(c) && !issue16.includes(c));
  const chart = (n: string) => (charts.includes(n) ? `![${n}](${n}.svg)\n\n` : '');
  const loads = (xs?: number[]) => xs?.map((x) => x.toFixed(2)).join(' ') ?? '?';
  const warn = (on: boolean, text: string) => (on ? `\n**${text}**\n` : '');
  const sections = [
    [
      '1. Round trip (no-op returning a small object, one call at a time, 1 worker)',
      'roundtrip',
      latencyTable(r, 'roundtrip'),
    ],
    ['2. Throughput (256 calls in flight)', 'throughput', throughputTable(r)],
    ['3. Payload (a call returning 1,000 rows `{id, name, email}`, 1 worker)', 'payload', latencyTable(r, 'payload')],
    ['4. Sync direction (`f.sync()` of an async function)', 'sync', latencyTable(r, 'sync')],
    ['5. The application (users API)', 'app', appTable(r)],
  ].map(([title, name, text]) => `## ${title}\n\n${chart(name!)}${text}`);
  const issue = (cs: TargetCheck[], none: string) =>
    cs.length
      ? `${cs.filter((c) => c.verdict === 'met').length} met, ${cs.filter((c) => c.verdict === 'missed').length} missed.\n\n${targetsTable(cs)}`
      : none;

  return `# smartasync benchmark results

Generated by \`${m.command}\` on ${m.date} (${m.size} run, ${m.wallSeconds ?? '?'} s).
Node ${m.node}, ${m.cpus} × ${m.cpuModel}, ${m.platform}; commit ${m.commit}; smartasync ${m.smartasyncVersion ?? 'not installed'} (build ${m.smartasyncBuild ?? '?'}).
Load average before/after: ${loads(m.loadavgBefore)} / ${loads(m.loadavgAfter)}.${m.otherCores !== undefined ? ` Other processes kept ${m.otherCores.toFixed(2)} of the ${m.cpus} cores busy on average during the run.` : ''}
${warn((m.otherCores ?? 0) > 0.1, `Other processes took ${m.otherCores?.toFixed(2)} cores on average during this run: its tails are disturbed. Run again on a quiet machine.`)}${warn(!m.pinningAvailable, 'taskset was not available: no pinned figures in this run.')}${warn(m.smartasyncBuildAfter !== undefined && m.smartasyncBuildAfter !== m.smartasyncBuild, `smartasync was rebuilt during this run (build ${m.smartasyncBuild} → ${m.smartasyncBuildAfter}): its figures mix two versions. Run again.`)}${warn(m.size !== 'full', `This is a ${m.size} run: few, short blocks. Use a full run (\`npm run bench\`) for figures to quote.`)}
Every comparison runs its candidates in one process, interleaved in blocks (round *r* starts at candidate *r* mod *n*).
Figures are the **median over rounds**, min–max over rounds in small print; "pooled" percentiles are over every call.
*pinned* = the whole process under \`taskset -c 0\`; *unpinned* = free on both cores.

## Targets (issue 4)

${issue(issue4, '_No comparison of issue 4 in this run._')}

## Targets (issue 7, server traffic)

${issue(issue7, '_The traffic section was not run (`--sections=traffic`)._')}

## Targets (issue 16, the hot path)

Ratios are to piscina measured in the same process. Rows that repeat an issue 7 target carry its verdict. The export's rows come from \`export.json\` (\`npm run export -w smartasync-bench\`, a run of its own, dated). The 10 MB string and Buffer target is measured by \`npm run bench:compare\` (its \`10 MB argument and result\` job, as a ratio to \`structuredClone\` in the same process).

${issue(issue16, '_No comparison of issue 16 in this run._')}
${why.length ? `\n### Why the misses (measured)\n\n${why.join('\n')}\n` : ''}
${sections.join('\n\n')}

## 6. Server traffic (issue 7)

${trafficTables(r, chart)}
## Profiles of smartasync (CPU, measured rounds only)

\`node --cpu-prof\` of smartasync alone, unpinned ([\`src/profile.ts\`](../src/profile.ts)): self time by function, idle excluded,
per call. The sampler ticks in wall-clock time, so a thread blocked in \`Atomics.wait\` counts as busy there.

${profiles(r)}
${problems.length ? `\n## Problems in this run\n\n${problems.join('\n')}\n` : ''}`;
}
