// The export comparison: its verdicts from known figures, and the whole pipeline on a small table.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ExportFigures, verdicts } from '../src/export/run.ts';

type Figure = [ExportFigures['candidate'], number, number, number, number];
const figure = (...[candidate, ms, rssGrowthMb, lightAloneP99Ms, lightDuringP99Ms]: Figure): ExportFigures => {
  return { candidate, ms, rssGrowthMb, lightAloneP99Ms, lightDuringP99Ms };
};

test('verdicts: RSS budget scales with the rows, p99 against alone, time against .all() and piscina', () => {
  const met = verdicts(
    [figure('stream', 1100, 30, 1, 1.9), figure('all', 1000, 400, 1, 9), figure('piscina', 1000, 30, 1, 5)],
    1_000_000,
  );
  assert.deepEqual(
    met.map((v) => v.met),
    [true, true, true, true],
  );
  const missed = verdicts(
    [
      figure('stream', 1300, 40, 1, 2.1),
      figure('stream-nice0', 900, 40, 1, 9), // another candidate: judged by nothing
      figure('all', 1000, 400, 1, 9),
      figure('piscina', 1000, 30, 1, 5),
    ],
    500_000,
  );
  assert.deepEqual(
    missed.map((v) => [v.target, v.met]),
    [
      ['Peak RSS growth ≤ 64 MB per 1 M rows', false], // 40 MB > 32 MB for half a million rows
      ['Light p99 during the export ≤ 2× alone', false],
      ['Time ≤ 1.2× `.all()`', false],
      ['Time ≤ 1.2× the hand-built piscina stream (issue 16)', false],
    ],
  );
});

const out = mkdtempSync(join(tmpdir(), 'bench-export-test-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('a small run of every candidate writes export.md and export.json with every row exported', () => {
  const script = fileURLToPath(new URL('../export.ts', import.meta.url));
  execFileSync(process.execPath, [script, '--rows=5000', '--rounds=1', '--light-seconds=0.3', `--out=${out}`], {
    stdio: 'pipe',
    timeout: 60_000,
  });
  const json = JSON.parse(readFileSync(join(out, 'export.json'), 'utf8')) as {
    runs: { candidate: string; lines: number; bytes: number }[];
    verdicts: unknown[];
  };
  assert.deepEqual(
    json.runs.map((r) => `${r.candidate} ${r.lines}`),
    ['stream 5000', 'stream-nice0 5000', 'all 5000', 'piscina 5000'],
  );
  // The same bytes whichever way the rows were read.
  assert.equal(new Set(json.runs.map((r) => r.bytes)).size, 1);
  assert.equal(json.verdicts.length, 4);
  assert.match(readFileSync(join(out, 'export.md'), 'utf8'), /\| stream \| [\d.]+ s \|/);
});
