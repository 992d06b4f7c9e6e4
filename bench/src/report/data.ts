// Lookups over results.json shared by the tables, the charts and the target verdicts.
import type { CandidateResult, JobResult, Mode, Section } from '../job.ts';
import type { Results } from '../results.ts';

export function okJobs(r: Results): JobResult[] {
  return r.jobs.filter((j): j is JobResult => 'candidates' in j);
}

export function findJob(r: Results, section: Section, mode: Mode, workers = 1): JobResult | undefined {
  return okJobs(r).find((j) => j.job.section === section && j.job.mode === mode && j.job.workers === workers);
}

export function metric(c: CandidateResult | undefined, key: string): number | undefined {
  const v = c?.metrics[key]?.median;
  return v === undefined || Number.isNaN(v) ? undefined : v;
}

export function cand(j: JobResult | undefined, id: string): CandidateResult | undefined {
  return j?.candidates.find((c) => c.id === id && !c.error);
}

/** The peer (any configuration) with the lowest (or highest) value of `key`. */
export function bestPeer(j: JobResult | undefined, key: string, higherIsBetter: boolean): CandidateResult | undefined {
  const peers = (j?.candidates ?? []).filter((c) => c.kind === 'peer' && !c.error && metric(c, key) !== undefined);
  peers.sort((a, b) => (higherIsBetter ? metric(b, key)! - metric(a, key)! : metric(a, key)! - metric(b, key)!));
  return peers[0];
}

export function modesOf(r: Results, section: Section): Mode[] {
  const ms = new Set(
    okJobs(r)
      .filter((j) => j.job.section === section)
      .map((j) => j.job.mode),
  );
  return (['pinned', 'unpinned'] as Mode[]).filter((m) => ms.has(m));
}

export function workersOf(r: Results, section: Section): number[] {
  return [
    ...new Set(
      okJobs(r)
        .filter((j) => j.job.section === section)
        .map((j) => j.job.workers),
    ),
  ].sort();
}

export const fmt = {
  us: (x: number | undefined) => (x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1)),
  ms: (x: number | undefined) => (x === undefined ? '–' : x >= 100 ? x.toFixed(0) : x.toFixed(1)),
  rate: (x: number | undefined) =>
    x === undefined
      ? '–'
      : x >= 10000
        ? `${(x / 1000).toFixed(0)}k`
        : x >= 1000
          ? `${(x / 1000).toFixed(1)}k`
          : x.toFixed(0),
  ratio: (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '–' : `${x.toFixed(2)}×`),
};

/** A Markdown table; every column but the first right-aligned. */
export function table(head: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map((h, i) => (i === 0 ? '---' : '---:'))), ...body.map(line)].join('\n');
}
