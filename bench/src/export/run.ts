// The export comparison (issue 11): every row of a large SQLite users table through
// GET /users/export, three ways (the smartasync and export builds of ../app/server.ts), each in its own server process, interleaved per
// round. Measured from this process: the time to the last byte, the server's RSS (sampled from
// /proc), and the p99 of light requests alone and during the export.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { Agent, request } from 'undici';
import { DEFAULT_REPORT_COST } from 'users-api/manager';
import { migrate } from 'users-api/migrate';
import { startServer, stopServer, withNotes } from '../app/http.ts';
import type { runMeta } from '../lib/proc.ts';
import { median, quantile, sortedCopy } from '../lib/stats.ts';
import { table, verdict } from '../report/format.ts';

export type Candidate = 'stream' | 'stream-nice0' | 'all' | 'piscina';
export const CANDIDATES = withNotes<Candidate>({
  stream:
    'users-api as it is: DatabaseManager.exportText, a generator over better-sqlite3 .iterate() that encodes 256 rows a chunk, run by smartasync on a worker (at nice 10, `DB_WORKER_NICE`, the default: the event loop comes first)',
  'stream-nice0': "the same with `DB_WORKER_NICE=0`: the pool workers at the event loop's priority, as piscina's are",
  all: '`await store.getAllUsers()` (smartasync, .all() on a worker): every row in one array, then encoded and written out',
  piscina:
    'manual piscina build: a task encoding 256 rows a chunk, as the app does, and streaming the text through a MessagePort with credit-based backpressure (bench/src/workers/export-task.ts)',
}).map(({ build: id, note }) => ({ id, note }));
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

const rssMb = (pid: number) => (Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * 4096) / 2 ** 20;
const p99 = (ms: number[]) => quantile(sortedCopy(ms), 0.99);

async function measure(candidate: Candidate, round: number, o: ExportOptions) {
  // `stream` is the app as it is: the smartasync build.
  const build = candidate === 'all' || candidate === 'piscina' ? (`export-${candidate}` as const) : 'smartasync';
  const env = candidate === 'stream-nice0' ? { DB_WORKER_NICE: '0' } : undefined;
  const server = await startServer(build, `sqlite:${o.dbPath}`, DEFAULT_REPORT_COST, env);
  const agent = new Agent({ connections: LIGHT_CLIENTS + 1 });
  try {
    let phase: 'warm' | 'alone' | 'during' | 'done' = 'warm';
    const latencies = { warm: [] as number[], alone: [] as number[], during: [] as number[], done: [] as number[] };
    let n = 0;
    const light = Array.from({ length: LIGHT_CLIENTS }, async () => {
      while (phase !== 'done') {
        const [path, started] = [`/users/${1 + (n++ % LIGHT_IDS)}`, performance.now()];
        const { statusCode, body } = await request(server.base + path, { dispatcher: agent });
        await body.dump();
        if (statusCode !== 200) throw new Error(`GET ${path}: ${statusCode}`);
        latencies[phase].push(performance.now() - started);
      }
    });
    await sleep(500);
    phase = 'alone';
    await sleep(o.lightSeconds * 1000);
    const rssBeforeMb = rssMb(server.proc.pid!);
    let rssPeakMb = rssBeforeMb;
    const sampler = setInterval(() => (rssPeakMb = Math.max(rssPeakMb, rssMb(server.proc.pid!))), 5);
    phase = 'during';
    const started = performance.now();
    const { statusCode, body } = await request(`${server.base}/users/export`, { dispatcher: agent });
    if (statusCode !== 200) throw new Error(`GET /users/export (${candidate}): ${statusCode}`);
    let [bytes, lines] = [0, 0];
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
    }
    const ms = performance.now() - started;
    clearInterval(sampler);
    rssPeakMb = Math.max(rssPeakMb, rssMb(server.proc.pid!));
    phase = 'done';
    await Promise.all(light);
    if (lines !== o.rows) throw new Error(`${candidate} exported ${lines} rows, not ${o.rows}`);
    const [lightAloneP99Ms, lightDuringP99Ms] = [p99(latencies.alone), p99(latencies.during)];
    return { candidate, round, ms, bytes, lines, rssBeforeMb, rssPeakMb, lightAloneP99Ms, lightDuringP99Ms };
  } finally {
    await agent.close();
    await stopServer(server);
  }
}
export type ExportRun = Awaited<ReturnType<typeof measure>>;

export async function runExport(o: ExportOptions, log = (line: string) => process.stderr.write(line + '\n')) {
  const runs: ExportRun[] = [];
  for (let round = 1; round <= o.rounds; round++)
    for (const { id } of CANDIDATES.filter((c) => o.only.includes(c.id))) {
      const r = await measure(id, round, o);
      const p99s = `${r.lightAloneP99Ms.toFixed(2)} -> ${r.lightDuringP99Ms.toFixed(2)} ms`;
      log(
        `round ${round} ${id}: ${r.ms.toFixed(0)} ms, RSS +${(r.rssPeakMb - r.rssBeforeMb).toFixed(1)} MB, light p99 ${p99s}`,
      );
      runs.push(r);
    }
  return runs;
}

/** Medians over the rounds, per candidate. */
export function figures(runs: ExportRun[]) {
  return CANDIDATES.filter((c) => runs.some((r) => r.candidate === c.id)).map(({ id }) => {
    const mine = runs.filter((r) => r.candidate === id);
    const med = (f: (r: ExportRun) => number) => median(mine.map(f));
    const [ms, rssGrowthMb] = [med((r) => r.ms), med((r) => r.rssPeakMb - r.rssBeforeMb)];
    const [lightAloneP99Ms, lightDuringP99Ms] = [med((r) => r.lightAloneP99Ms), med((r) => r.lightDuringP99Ms)];
    return { candidate: id, ms, rssGrowthMb, lightAloneP99Ms, lightDuringP99Ms };
  });
}
export type ExportFigures = ReturnType<typeof figures>[number];

/**
 * Issue 11's targets for the streamed export, against `.all()` measured in the same run, and
 * issue 16's, against the hand-built piscina stream.
 */
export function verdicts(all: ExportFigures[], rows: number) {
  const [stream, dotAll, piscina] = ['stream', 'all', 'piscina'].map((c) => all.find((f) => f.candidate === c));
  if (!stream) return [];
  const budgetMb = (64 * rows) / 1_000_000;
  const [p99, s] = [(x: number) => `${x.toFixed(2)} ms`, (x: number) => `${(x / 1000).toFixed(2)} s`];
  const v = (target: string, measured: string, required: string, met: boolean) => ({ target, measured, required, met });
  const { rssGrowthMb: rss, lightAloneP99Ms: alone, lightDuringP99Ms: during } = stream;
  const during2x = `≤ ${p99(2 * alone)} (2 × ${p99(alone)})`;
  // The stream's time within 1.2× another candidate's, when that one ran.
  const timeWithin = (other: ExportFigures | undefined, target: string) =>
    other
      ? [v(target, s(stream.ms), `≤ ${s(1.2 * other.ms)} (1.2 × ${s(other.ms)})`, stream.ms <= 1.2 * other.ms)]
      : [];
  return [
    v(`Peak RSS growth ≤ 64 MB per 1 M rows`, `${rss.toFixed(1)} MB`, `≤ ${budgetMb.toFixed(1)} MB`, rss <= budgetMb),
    v('Light p99 during the export ≤ 2× alone', p99(during), during2x, during <= 2 * alone),
    ...timeWithin(dotAll, 'Time ≤ 1.2× `.all()`'),
    ...timeWithin(piscina, 'Time ≤ 1.2× the hand-built piscina stream (issue 16)'),
  ];
}

export function writeResults(out: string, o: ExportOptions, runs: ExportRun[], meta: ReturnType<typeof runMeta>) {
  const rows = figures(runs);
  const checks = verdicts(rows, o.rows);
  const json = { meta, options: o, runs, figures: rows, verdicts: checks };
  writeFileSync(join(out, 'export.json'), JSON.stringify(json, null, 2) + '\n');
  const figureRow = (f: ExportFigures) =>
    `${f.candidate} | ${(f.ms / 1000).toFixed(2)} s | ${f.rssGrowthMb.toFixed(1)} MB | ${f.lightAloneP99Ms.toFixed(2)} ms | ${f.lightDuringP99Ms.toFixed(2)} ms`;
  const verdictRow = (v: (typeof checks)[number]) => `${v.target} | ${v.measured} | ${v.required} | ${verdict(v.met)}`;
  const md = [
    '# Export: every user through GET /users/export',
    '',
    `Scenario: [\`src/export/run.ts\`](../src/export/run.ts). ${o.rows.toLocaleString('en')} rows (about ${(median(runs.map((r) => r.bytes)) / 2 ** 20).toFixed(0)} MB of NDJSON), ` +
      `${o.rounds} round(s), candidates interleaved, each in a fresh server process; medians. Light load: ${LIGHT_CLIENTS} clients looping GET /users/:id, ${o.lightSeconds} s alone, then during the export. ` +
      `${meta.command} on ${meta.date.slice(0, 10)} (Node ${meta.node}, ${meta.cpus} × ${meta.cpuModel}, load average ${meta.loadavgBefore.map((l) => l.toFixed(2)).join(' ')} at the start).`,
    '',
    table('candidate|time|peak RSS over baseline|light p99 alone|light p99 during', rows.map(figureRow)),
    '',
    ...CANDIDATES.filter((c) => rows.some((f) => f.candidate === c.id)).map((c) => `- **${c.id}**: ${c.note}`),
    '',
    table('target (streamed export)|measured|required|verdict', checks.map(verdictRow)),
    '',
  ];
  writeFileSync(join(out, 'export.md'), md.join('\n'));
  return { table: rows, checks };
}
