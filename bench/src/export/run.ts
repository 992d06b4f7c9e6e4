// The export comparison (issue 11): every row of a 1,000,000-user SQLite table through
// GET /users/export, three ways (./types.ts), each in its own server process, interleaved per
// round. Measured from this process: the time to the last byte, the server's RSS (sampled from
// /proc), and the latency of light requests alone and during the export.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { migrate } from 'users-api/migrate';
import { quantile, sortedCopy } from '../stats.ts';
import { CANDIDATES, type Candidate, type ExportRun } from './types.ts';

const serverEntry = fileURLToPath(new URL('./server.ts', import.meta.url));
const PAGE = 4096;
const LIGHT_CLIENTS = 4;
/** Users the light requests pick from (every table has at least this many). */
const LIGHT_IDS = 1000;

export interface ExportOptions {
  rows: number;
  rounds: number;
  /** Light load alone before each export, in seconds. */
  lightSeconds: number;
  only: Candidate[];
  dbPath: string;
}

/** A users table of `rows` rows, written in one statement. */
export async function makeDatabase(path: string, rows: number): Promise<void> {
  await migrate(`sqlite:${path}`); // the app's schema
  const db = new Database(path);
  try {
    db.exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
      INSERT INTO users (name, email) SELECT 'User ' || i, 'user' || i || '@example' || (i % 17) || '.com' FROM n`);
  } finally {
    db.close();
  }
}

async function startServer(candidate: Candidate, path: string) {
  const proc = spawn(process.execPath, [serverEntry, candidate, path], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${candidate} server did not start in 30 s`)), 30_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /PORT (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.once('exit', (code) => reject(new Error(`${candidate} server exited with ${code}`)));
  });
  return { proc, base: `http://127.0.0.1:${port}` };
}

const rssMb = (pid: number) => (Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE) / 2 ** 20;

const summary = (ms: number[]) => {
  const s = sortedCopy(ms);
  return { count: s.length, p50Ms: quantile(s, 0.5), p99Ms: quantile(s, 0.99) };
};

async function measure(candidate: Candidate, round: number, options: ExportOptions): Promise<ExportRun> {
  const server = await startServer(candidate, options.dbPath);
  const agent = new Agent({ connections: LIGHT_CLIENTS + 1 });
  try {
    let phase: 'warm' | 'alone' | 'during' | 'done' = 'warm';
    const latencies = { warm: [] as number[], alone: [] as number[], during: [] as number[], done: [] as number[] };
    let n = 0;
    const light = Array.from({ length: LIGHT_CLIENTS }, async () => {
      while (phase !== 'done') {
        const id = 1 + (n++ % LIGHT_IDS);
        const started = performance.now();
        const { statusCode, body } = await request(`${server.base}/users/${id}`, { dispatcher: agent });
        await body.dump();
        if (statusCode !== 200) throw new Error(`GET /users/${id}: ${statusCode}`);
        latencies[phase].push(performance.now() - started);
      }
    });
    await new Promise((r) => setTimeout(r, 500));
    phase = 'alone';
    await new Promise((r) => setTimeout(r, options.lightSeconds * 1000));
    const rssBeforeMb = rssMb(server.proc.pid!);
    let rssPeakMb = rssBeforeMb;
    const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, rssMb(server.proc.pid!))), 5);
    phase = 'during';
    const started = performance.now();
    const { statusCode, body } = await request(`${server.base}/users/export`, { dispatcher: agent });
    if (statusCode !== 200) throw new Error(`GET /users/export (${candidate}): ${statusCode}`);
    let bytes = 0;
    let lines = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    }
    const ms = performance.now() - started;
    clearInterval(sampler);
    rssPeakMb = Math.max(rssPeakMb, rssMb(server.proc.pid!));
    phase = 'done';
    await Promise.all(light);
    if (lines !== options.rows) throw new Error(`${candidate} exported ${lines} rows, not ${options.rows}`);
    return {
      candidate,
      round,
      ms,
      bytes,
      lines,
      rssBeforeMb,
      rssPeakMb,
      lightAlone: summary(latencies.alone),
      lightDuring: summary(latencies.during),
    };
  } finally {
    await agent.close();
    server.proc.kill('SIGTERM');
    await new Promise((r) => server.proc.once('exit', r));
  }
}

export async function runExport(options: ExportOptions, log = (line: string) => process.stderr.write(line + '\n')) {
  const runs: ExportRun[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    for (const { id } of CANDIDATES.filter((c) => options.only.includes(c.id))) {
      const run = await measure(id, round, options);
      log(
        `round ${round} ${id}: ${run.ms.toFixed(0)} ms, RSS +${(run.rssPeakMb - run.rssBeforeMb).toFixed(1)} MB, ` +
          `light p99 ${run.lightAlone.p99Ms.toFixed(2)} -> ${run.lightDuring.p99Ms.toFixed(2)} ms`,
      );
      runs.push(run);
    }
  }
  return runs;
}

const median = (values: number[]) => quantile(sortedCopy(values), 0.5);

export interface ExportFigures {
  candidate: Candidate;
  ms: number;
  rssGrowthMb: number;
  lightAloneP99Ms: number;
  lightDuringP99Ms: number;
}

/** Medians over the rounds, per candidate. */
export function figures(runs: ExportRun[]): ExportFigures[] {
  return CANDIDATES.filter((c) => runs.some((r) => r.candidate === c.id)).map(({ id }) => {
    const mine = runs.filter((r) => r.candidate === id);
    return {
      candidate: id,
      ms: median(mine.map((r) => r.ms)),
      rssGrowthMb: median(mine.map((r) => r.rssPeakMb - r.rssBeforeMb)),
      lightAloneP99Ms: median(mine.map((r) => r.lightAlone.p99Ms)),
      lightDuringP99Ms: median(mine.map((r) => r.lightDuring.p99Ms)),
    };
  });
}

export interface Verdict {
  target: string;
  measured: string;
  required: string;
  met: boolean;
}

/** Issue 11's targets for the streamed export, against `.all()` measured in the same run. */
export function verdicts(all: ExportFigures[], rows: number): Verdict[] {
  const stream = all.find((f) => f.candidate === 'stream');
  if (!stream) return [];
  const out: Verdict[] = [];
  const budgetMb = (64 * rows) / 1_000_000;
  out.push({
    target: `Peak RSS growth ≤ 64 MB per 1 M rows`,
    measured: `${stream.rssGrowthMb.toFixed(1)} MB`,
    required: `≤ ${budgetMb.toFixed(1)} MB`,
    met: stream.rssGrowthMb <= budgetMb,
  });
  out.push({
    target: 'Light p99 during the export ≤ 2× alone',
    measured: `${stream.lightDuringP99Ms.toFixed(2)} ms`,
    required: `≤ ${(2 * stream.lightAloneP99Ms).toFixed(2)} ms (2 × ${stream.lightAloneP99Ms.toFixed(2)} ms)`,
    met: stream.lightDuringP99Ms <= 2 * stream.lightAloneP99Ms,
  });
  const all1 = all.find((f) => f.candidate === 'all');
  if (all1) {
    out.push({
      target: 'Time ≤ 1.2× `.all()`',
      measured: `${(stream.ms / 1000).toFixed(2)} s`,
      required: `≤ ${((1.2 * all1.ms) / 1000).toFixed(2)} s (1.2 × ${(all1.ms / 1000).toFixed(2)} s)`,
      met: stream.ms <= 1.2 * all1.ms,
    });
  }
  return out;
}

export function writeResults(out: string, options: ExportOptions, runs: ExportRun[], meta: Record<string, unknown>) {
  const table = figures(runs);
  const checks = verdicts(table, options.rows);
  writeFileSync(
    join(out, 'export.json'),
    JSON.stringify({ meta, options, runs, figures: table, verdicts: checks }, null, 2) + '\n',
  );
  const lines = [
    '# Export: every user through GET /users/export',
    '',
    `${options.rows.toLocaleString('en')} rows (about ${(median(runs.map((r) => r.bytes)) / 2 ** 20).toFixed(0)} MB of NDJSON), ` +
      `${options.rounds} round(s), candidates interleaved, each in a fresh server process; medians. ` +
      `Light load: ${LIGHT_CLIENTS} clients in a loop on GET /users/:id, ${options.lightSeconds} s alone, then during the export. ` +
      `${String(meta.command)} on ${String(meta.date)} (Node ${String(meta.node)}, ${String(meta.cpus)}, load average ${String(meta.loadavg)} at the start).`,
    '',
    '| candidate | time | peak RSS over baseline | light p99 alone | light p99 during |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...table.map(
      (f) =>
        `| ${f.candidate} | ${(f.ms / 1000).toFixed(2)} s | ${f.rssGrowthMb.toFixed(1)} MB | ${f.lightAloneP99Ms.toFixed(2)} ms | ${f.lightDuringP99Ms.toFixed(2)} ms |`,
    ),
    '',
    ...CANDIDATES.filter((c) => table.some((f) => f.candidate === c.id)).map((c) => `- **${c.id}**: ${c.note}`),
    '',
    '| target (streamed export) | measured | required | verdict |',
    '| --- | ---: | ---: | ---: |',
    ...checks.map((v) => `| ${v.target} | ${v.measured} | ${v.required} | ${v.met ? '✅ met' : '❌ missed'} |`),
    '',
  ];
  writeFileSync(join(out, 'export.md'), lines.join('\n'));
  return { table, checks };
}
