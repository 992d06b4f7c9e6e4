import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Results } from '../results.ts';
import { writeCharts } from './charts.ts';
import { markdown, targetsTable } from './markdown.ts';
import { evaluate } from './targets.ts';

const README = fileURLToPath(new URL('../../README.md', import.meta.url));
const DEFAULT_RESULTS = resolve(fileURLToPath(new URL('../../results', import.meta.url)));
const START = '<!-- headline:start -->';
const ALL_JOB_SECTIONS = ['roundtrip', 'throughput', 'payload', 'sync'];
const END = '<!-- headline:end -->';

/** Whether these results may replace the README's headline: a full run holding every section. */
export function updatesHeadline(r: Results): boolean {
  const complete =
    ALL_JOB_SECTIONS.every((s) => r.jobs.some((j) => j.job.section === s)) &&
    r.app !== undefined &&
    r.traffic !== undefined;
  return r.meta.size === 'full' && complete;
}

export async function writeReport(r: Results, dir: string): Promise<void> {
  const checks = evaluate(r);
  const charts = await writeCharts(r, dir);
  writeFileSync(join(dir, 'targets.json'), JSON.stringify(checks, null, 1) + '\n');
  writeFileSync(join(dir, 'results.md'), markdown(r, checks, charts));
  // The README shows the committed figures: only a full run into bench/results that holds every
  // section updates it (a run of one section would drop the other sections' rows).
  if (updatesHeadline(r) && resolve(dir) === DEFAULT_RESULTS && existsSync(README)) {
    const text = readFileSync(README, 'utf8');
    const a = text.indexOf(START);
    const b = text.indexOf(END);
    if (a >= 0 && b > a) {
      const m = r.meta;
      const block = `${START}\nTargets of issues 4 and 7, from \`${m.command}\` on ${m.date.slice(0, 10)} (Node ${m.node}, ${m.cpus} × ${m.cpuModel}, smartasync ${m.smartasyncVersion ?? '?'} at ${m.commit}); details and reasons in [results.md](results/results.md).\n\n${targetsTable(checks)}\n${END}`;
      writeFileSync(README, text.slice(0, a) + block + text.slice(b + END.length));
    }
  }
}
