// The soak comparison: its figures from known series, and the whole pipeline on a few seconds.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SoakSample } from '../src/soak/child.ts';
import { summarize } from '../src/soak/run.ts';
import type { SoakResults } from '../src/soak/run.ts';

const MB = 2 ** 20;

/** One sample a second for `seconds`, RSS in MB from `rssAt(t)`. */
function series(seconds: number, rssAt: (t: number) => number): SoakSample[] {
  return Array.from({ length: seconds + 1 }, (_, t) => ({
    t,
    calls: t * 1000,
    failed: t * 500,
    rss: rssAt(t) * MB,
    heapUsed: 10 * MB,
    heapTotal: 40 * MB,
    external: 0,
    workers: [
      { used: 5 * MB, total: 20 * MB, external: 0 },
      { used: 5 * MB, total: 30 * MB, external: 0 },
    ],
  }));
}

test('growth counts from the sample before the load, and a plateau is flat', () => {
  // 100 MB before, up to 300 MB in the first minute, then level.
  const s = summarize(series(600, (t) => (t === 0 ? 100 : Math.min(300, 100 + (200 * t) / 60))));
  assert.equal(s.rssBefore, 100);
  assert.equal(s.rssEnd, 300);
  assert.equal(s.growth, 200);
  assert.equal(s.lastHalfGrowth, 0);
  assert.ok(Math.abs(s.lastHalfSlope) < 1e-9);
  assert.equal(s.flat, true);
  assert.equal(s.callsPerSecond, 1000);
  assert.equal(s.workerHeapTotal, 50);
  assert.equal(s.rest, 300 - 40 - 50);
});

test('RSS still rising in the second half is not flat, and its slope is per minute', () => {
  // A steady 6 MB a minute: the last 5 minutes add 30 MB of 60, more than a tenth.
  const s = summarize(series(600, (t) => 100 + t / 10));
  assert.ok(Math.abs(s.growth - 60) < 0.5, `growth ${s.growth}`);
  assert.ok(Math.abs(s.lastHalfGrowth - 30) < 0.5, `last half ${s.lastHalfGrowth}`);
  assert.ok(Math.abs(s.lastHalfSlope - 6) < 1e-6, `slope ${s.lastHalfSlope}`);
  assert.equal(s.flat, false);
});

test('steps smaller than the noise floor leave a run flat', () => {
  const s = summarize(series(600, (t) => (t === 0 ? 100 : t < 400 ? 200 : 208)));
  assert.equal(s.lastHalfGrowth, 8);
  assert.equal(s.flat, true);
});

const out = mkdtempSync(join(tmpdir(), 'bench-soak-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('the soak runs both candidates end to end and writes its figures, verdicts and chart', { timeout: 60_000 }, () => {
  const script = fileURLToPath(new URL('../soak.ts', import.meta.url));
  execFileSync(process.execPath, [script, '--seconds=3', '--concurrency=16', `--out=${out}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: 55_000,
  });
  const r = JSON.parse(readFileSync(join(out, 'soak.json'), 'utf8')) as SoakResults;
  assert.deepEqual(
    r.runs.map((x) => x.candidate),
    ['smartasync', 'piscina'],
  );
  for (const run of r.runs) {
    assert.equal(run.error, undefined, `${run.candidate}: ${run.error}`);
    assert.equal(run.wrong, 0, `${run.candidate} settled every call as its body decided`);
    assert.ok(run.samples.length >= 3, `${run.candidate} has ${run.samples.length} samples`);
    assert.ok(run.summary!.calls > 0 && run.summary!.failed > 0, `${run.candidate} made calls, some failing`);
    assert.ok(run.samples.at(-1)!.workers.length >= 2, `${run.candidate}'s workers reported their heaps`);
  }
  assert.equal(typeof r.growthRatio, 'number');
  const md = readFileSync(join(out, 'soak.md'), 'utf8');
  assert.match(md, /\| RSS growth ≤ 1\.5 × piscina’s \|.*\| (✅ met|❌ missed) \|/);
  assert.match(md, /\| Flat over the last half \|/);
  assert.match(readFileSync(join(out, 'soak.svg'), 'utf8'), /^<svg[\s\S]*<\/svg>\s*$/);
});
