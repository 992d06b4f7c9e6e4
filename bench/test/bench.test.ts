// The whole pipeline on tiny counts, so CI catches a broken benchmark without running it for real; and
// the report, which must rebuild the committed results.md from the committed results.json.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';
import type { JobResult } from '../src/micro.ts';
import type { TargetCheck } from '../src/report/format.ts';
import { markdown, updatesHeadline } from '../src/report/write.ts';
import { ok, type Results, type TrafficResult } from '../src/results.ts';
import { GAPS } from '../src/traffic/spaced.ts';

const committed = fileURLToPath(new URL('../results', import.meta.url));
const dirs: string[] = [];
const tmp = (name: string) => dirs[dirs.push(mkdtempSync(join(tmpdir(), name))) - 1]!;
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const run = (args: string[], timeout: number) =>
  execFileSync(process.execPath, [fileURLToPath(new URL('../run.ts', import.meta.url)), ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout,
  });
const read = <T>(dir: string, f: string) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as T;
const text = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');
const hasAll = (md: string, headings: string) => headings.split('|').forEach((h) => assert.ok(md.includes(h), h));
const isSvg = (dir: string, charts: string) =>
  charts.split(' ').forEach((c) => assert.match(text(dir, `${c}.svg`), /^<svg[\s\S]*<\/svg>\s*$/, c));

test('sections 1–4 run end to end on tiny counts and write results, tables and charts', { timeout: 60_000 }, () => {
  const out = tmp('bench-smoke-');
  run(['--smoke', '--no-pin', '--workers=1', '--sections=roundtrip,throughput,payload,sync', `--out=${out}`], 55_000);
  const jobs = read<Results>(out, 'results.json').jobs.filter((j): j is JobResult => 'candidates' in j);
  assert.deepEqual(jobs.map((j) => j.job.section).sort(), ['payload', 'roundtrip', 'sync', 'throughput']);
  const ids = (section: string) => jobs.find((j) => j.job.section === section)!.candidates.map((c) => c.id);
  assert.equal(
    ids('roundtrip').join(' '),
    'smartasync piscina:default piscina:best piscina:best-async tinypool:default tinypool:best workerpool:default poolifier:default poolifier:best raw:postMessage floor:atomics',
  );
  assert.equal(ids('sync').join(' '), 'smartasync.sync floor:atomics-sync synckit:default make-synchronous:default');
  // Peers and baselines must produce figures; the subject may be unbuilt (then reported, not fatal).
  for (const j of jobs)
    for (const c of j.candidates.filter((c) => c.kind !== 'subject')) {
      assert.equal(c.error, undefined, `${j.job.section} ${c.id}: ${c.error}`);
      const m = c.metrics[j.job.section === 'throughput' ? 'calls_per_s' : 'median_us']!;
      assert.ok(m.median > 0 && m.n === j.job.rounds, `${j.job.section} ${c.id} measured every round`);
    }
  hasAll(
    text(out, 'results.md'),
    '## Targets (issue 4)|## 1. Round trip|## 2. Throughput|## 3. Payload|## 4. Sync direction',
  );
  isSvg(out, 'roundtrip throughput payload sync');
  assert.ok(!existsSync(join(out, 'app.svg')), 'no application chart without the app section');
  const targets = read<TargetCheck[]>(out, 'targets.json');
  assert.ok(targets.some((t) => t.id === 'roundtrip') && targets.some((t) => t.id === 'sync'));
  // Issue 16 judges the same jobs against piscina's best configuration and synckit.
  for (const id of ['i16-roundtrip', 'i16-throughput', 'i16-sync'])
    assert.ok(
      targets.some((t) => t.id === id && t.verdict !== 'not measured'),
      id,
    );
  assert.ok(text(out, 'results.md').includes('## Targets (issue 16, the hot path)'));
});

test(
  'the traffic section runs end to end on tiny counts: every scenario, pool, target row and chart',
  { timeout: 150_000 },
  () => {
    const dir = tmp('bench-traffic-');
    run(['--smoke', '--sections=traffic', `--out=${dir}`], 140_000);
    const t = ok(read<Results>(dir, 'results.json').traffic) as TrafficResult;
    const [spaced, openloop, mixed, idle, app] = [ok(t.spaced), ok(t.openloop), ok(t.mixed), ok(t.idle), ok(t.app)];
    assert.ok(spaced && openloop && mixed && idle && app, `every part ran: ${JSON.stringify(t).slice(0, 300)}`);
    const p = t.params;
    const ids = 'smartasync piscina:default raw:postMessage';
    assert.equal(spaced.candidates.map((c) => c.id).join(' '), ids);
    assert.equal(idle.candidates.map((c) => c.id).join(' '), `${ids} node`);
    // Every pool but the subject must produce figures (the subject may be unbuilt).
    const subjectOk = !spaced.candidates[0]!.error;
    const measured = <C extends { kind: string }>(cs: C[]) => cs.filter((c) => c.kind !== 'subject' || subjectOk);
    // warm() has every worker up, and the express one, before the first call.
    if (subjectOk) assert.deepEqual(spaced.candidates[0]!.start?.workers, p.workers + 1);
    for (const c of measured(spaced.candidates))
      for (const g of GAPS) {
        const l = c.gaps[g]!.latency;
        assert.equal(l.count, p.spaced.rounds * p.spaced.calls, `spaced ${c.id} ${g}: every call recorded`);
        assert.equal(hdr.decodeFromCompressedBase64(l.hdr).totalCount, l.count, 'the stored histogram decodes');
      }
    for (const c of measured(openloop.candidates)) {
      assert.ok(c.saturation! > 0, `${c.id} has a closed-loop saturation`);
      assert.equal(c.points.map((x) => x.rate).join(), openloop.rates.join());
      for (const x of c.points) assert.ok(x.rec.latency.count > 0 && x.achieved > 0, `${c.id} at ${x.rate}/s`);
    }
    for (const c of measured(mixed.candidates)) {
      assert.ok(c.alone!.latency.count > 0 && c.loaded!.latency.count > 0 && c.longAlone!.median > 0, `${c.id} mixed`);
      // Run times come from the worker's own clock: a long call runs about as long as asked.
      assert.ok(c.longRunMs!.alone > mixed.longMs / 3, `${c.id} long call ran ${c.longRunMs!.alone} ms`);
    }
    for (const c of measured(idle.candidates)) {
      assert.ok(c.coreShare! >= 0 && c.cpuMs! >= 0, `${c.id} idle CPU measured`);
      if (c.id !== 'node')
        assert.equal(c.workers, p.workers + (c.id === 'smartasync' ? 1 : 0), `${c.id} idles with every worker up`);
    }
    // Every build started and answered GET /users/:id, alone and with the report hammered.
    for (const build of ['smartasync', 'manual-piscina', 'naive'])
      for (const sc of ['alone', 'with-report', ...p.app.rates.map((r) => `open-${r}`)]) {
        const s = app.scenarios.find((x) => x.build === build && x.scenario === sc);
        assert.ok(s && s.latency.count > 0 && s.errors === 0, `app ${build} ${sc} measured without errors`);
      }
    assert.deepEqual(
      app.firstRequest.map((f) => [f.build, f.error, f.firstMs > 0 && f.warmMs > 0]),
      ['smartasync (npm start)', 'smartasync', 'manual-piscina', 'naive'].map((b) => [b, undefined, true]),
    );
    hasAll(
      text(dir, 'results.md'),
      '## Targets (issue 7, server traffic)|### 6.1 Spaced calls|### 6.2 Open-loop arrivals|### 6.3 Light calls among long calls|### 6.4 The users API under traffic|### 6.5 Idle cost and first call',
    );
    isSvg(dir, 'traffic-spaced traffic-openloop traffic-mixed traffic-app');
    const targets = read<TargetCheck[]>(dir, 'targets.json').filter((x) => x.id.startsWith('traffic'));
    const count = (id: string) => targets.filter((x) => x.id === `traffic-${id}`).length;
    const one = { timer: 1, mixed: 1, 'app-report': 1, first: 1, idle: 1 };
    const expected = { spaced: GAPS.length, openloop: openloop.rates.length, 'app-open': p.app.rates.length, ...one };
    assert.deepEqual(Object.fromEntries(Object.keys(expected).map((k) => [k, count(k)])), expected);
    if (subjectOk)
      for (const x of targets) {
        assert.notEqual(x.verdict, 'not measured', `${x.id} ${x.where} has a verdict`);
        if (x.verdict === 'missed') assert.ok(x.why && x.why.length > 40, `${x.id} ${x.where} says why`);
      }
  },
);

test('the committed results.json rebuilds the committed results.md and targets.json', { timeout: 30_000 }, () => {
  const dir = tmp('bench-report-');
  // export.json (npm run export) is read for issue 16's export rows.
  for (const f of ['results.json', 'export.json'])
    if (existsSync(join(committed, f))) cpSync(join(committed, f), join(dir, f));
  run(['--report-only', `--out=${dir}`], 25_000);
  for (const f of ['results.md', 'targets.json']) assert.equal(text(dir, f), text(committed, f), f);
});

test('only a full run holding every section rewrites the README headline', () => {
  // A section that failed still counts as run: its rows say so.
  const jobs = ['roundtrip', 'throughput', 'payload', 'sync'].map((section) => ({ job: { section }, error: 'x' }));
  const full = { meta: { size: 'full' }, jobs, app: { error: 'x' }, traffic: { error: 'x' } } as unknown as Results;
  assert.equal(updatesHeadline(full), true);
  assert.equal(updatesHeadline({ ...full, traffic: undefined }), false, 'without the traffic section');
  assert.equal(updatesHeadline({ ...full, jobs: full.jobs.slice(1) }), false, 'without the round trip');
  assert.equal(updatesHeadline({ ...full, meta: { ...full.meta, size: 'quick' } }), false, 'a quick run');
});

test('results.md warns when other processes took more than 0.1 core during the run', () => {
  const meta = { date: '2026-01-01T00:00:00Z', size: 'smoke', command: 'x', node: 'v24', cpus: 2, cpuModel: 'cpu' };
  const run = (otherCores: number) => ({
    meta: { ...meta, platform: 'linux', commit: 'c', pinningAvailable: true, loadavgBefore: [0, 0, 0], otherCores },
    jobs: [],
    profiles: [],
  });
  const at = (otherCores: number) => markdown(run(otherCores) as unknown as Results, [], []);
  assert.match(
    at(0.52),
    /Other processes kept 0\.52 of the 2 cores busy[\s\S]*\*\*Other processes took 0\.52 cores on average/,
  );
  assert.doesNotMatch(at(0.03), /\*\*Other processes took/);
});
