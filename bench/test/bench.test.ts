// Runs the whole pipeline on tiny counts and checks that every output is produced with the
// expected structure, so CI catches a broken benchmark without running it for real.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { JobResult } from '../src/job.ts';
import type { Results } from '../src/results.ts';
import type { TargetCheck } from '../src/report/targets.ts';
import { GAPS, ok, type TrafficResult } from '../src/traffic/types.ts';
import * as hdr from 'hdr-histogram-js';
import { updatesHeadline } from '../src/report/write.ts';

const runScript = fileURLToPath(new URL('../run.ts', import.meta.url));
const out = mkdtempSync(join(tmpdir(), 'bench-smoke-'));
after(() => rmSync(out, { recursive: true, force: true }));

test('the harness runs end to end on tiny counts and writes results, table and charts', { timeout: 60_000 }, () => {
  // Unpinned only and one pool size: enough to exercise every code path in a few seconds.
  execFileSync(
    process.execPath,
    [runScript, '--smoke', '--no-pin', '--workers=1', '--sections=roundtrip,throughput,payload,sync', `--out=${out}`],
    { stdio: ['ignore', 'ignore', 'pipe'], timeout: 55_000 },
  );

  const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  assert.equal(results.meta.size, 'smoke');
  const jobs = results.jobs.filter((j): j is JobResult => 'candidates' in j);
  assert.deepEqual(jobs.map((j) => j.job.section).sort(), ['payload', 'roundtrip', 'sync', 'throughput']);

  const ids = (section: string) => jobs.find((j) => j.job.section === section)!.candidates.map((c) => c.id);
  for (const id of [
    'piscina:default',
    'tinypool:default',
    'workerpool:default',
    'poolifier:default',
    'raw:postMessage',
    'floor:atomics',
    'smartasync',
  ]) {
    assert.ok(ids('roundtrip').includes(id), `round trip has ${id}`);
  }
  for (const id of ['synckit:default', 'make-synchronous:default', 'floor:atomics-sync', 'smartasync.sync']) {
    assert.ok(ids('sync').includes(id), `sync direction has ${id}`);
  }
  // Peers and baselines must actually produce figures; the subject may be unbuilt in a
  // checkout that skipped `npm run build`, and is then reported, not fatal.
  for (const j of jobs) {
    for (const c of j.candidates.filter((c) => c.kind !== 'subject')) {
      assert.equal(c.error, undefined, `${j.job.section} ${c.id}: ${c.error}`);
      const key = j.job.section === 'throughput' ? 'calls_per_s' : 'median_us';
      assert.ok(c.metrics[key]!.median > 0, `${j.job.section} ${c.id} has a ${key}`);
      assert.equal(c.metrics[key]!.n, j.job.rounds);
    }
  }

  const md = readFileSync(join(out, 'results.md'), 'utf8');
  for (const heading of [
    '## Targets (issue 4)',
    '## 1. Round trip',
    '## 2. Throughput',
    '## 3. Payload',
    '## 4. Sync direction',
  ]) {
    assert.ok(md.includes(heading), `results.md has "${heading}"`);
  }
  for (const chart of ['roundtrip', 'throughput', 'payload', 'sync']) {
    const svg = readFileSync(join(out, `${chart}.svg`), 'utf8');
    assert.match(svg, /^<svg[\s\S]*<\/svg>\s*$/);
  }
  assert.ok(!existsSync(join(out, 'app.svg')), 'no application chart without the app section');
  const targets = JSON.parse(readFileSync(join(out, 'targets.json'), 'utf8')) as TargetCheck[];
  assert.ok(targets.some((t) => t.id === 'roundtrip') && targets.some((t) => t.id === 'sync'));
});

test('the three builds of the users API start and answer both benchmarked endpoints', { timeout: 30_000 }, async () => {
  // autocannon runs whole seconds, too slow for a smoke test; one request per endpoint and
  // build proves the servers, the manual piscina store and the seeding still fit the app.
  const { seed, startServer, stopServer } = await import('../src/app/run-app.ts');
  const dir = mkdtempSync(join(tmpdir(), 'bench-app-smoke-'));
  const url = `sqlite:${join(dir, 'users.db')}`;
  const servers = [];
  try {
    await seed(url);
    for (const build of ['naive', 'manual-piscina', 'smartasync'] as const)
      servers.push(await startServer(build, url, 1000));
    for (const s of servers) {
      const user = await fetch(`${s.base}/users/7`);
      assert.equal(user.status, 200, `${s.build} GET /users/7`);
      assert.equal(((await user.json()) as { id: number }).id, 7);
      const report = await fetch(`${s.base}/reports/users`);
      assert.equal(report.status, 200, `${s.build} GET /reports/users`);
      assert.equal(((await report.json()) as { users: number }).users, 1000);
    }
  } finally {
    await Promise.all(servers.map(stopServer));
    rmSync(dir, { recursive: true, force: true });
  }
});

test(
  'the traffic section runs end to end on tiny counts: every scenario, candidate, target row and chart',
  { timeout: 120_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-traffic-smoke-'));
    try {
      execFileSync(process.execPath, [runScript, '--smoke', '--sections=traffic', `--out=${dir}`], {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: 110_000,
      });
      const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as Results;
      assert.ok(
        results.traffic && !('error' in results.traffic),
        `traffic ran: ${JSON.stringify(results.traffic).slice(0, 300)}`,
      );
      const t = results.traffic as TrafficResult;
      const p = t.params;
      const ids = ['smartasync', 'piscina:default', 'raw:postMessage'];

      const spaced = ok(t.spaced)!;
      assert.ok(spaced, `spaced ran: ${JSON.stringify(t.spaced)}`);
      assert.deepEqual(
        spaced.candidates.map((c) => c.id),
        ids,
      );
      const openloop = ok(t.openloop)!;
      assert.ok(openloop, `open loop ran: ${JSON.stringify(t.openloop)}`);
      assert.equal(openloop.rates.length, p.openloop.fractions.length);
      const mixed = ok(t.mixed)!;
      assert.ok(mixed, `mixed ran: ${JSON.stringify(t.mixed)}`);
      const idle = ok(t.idle)!;
      assert.ok(idle, `idle ran: ${JSON.stringify(t.idle)}`);
      assert.deepEqual(
        idle.candidates.map((c) => c.id),
        [...ids, 'node'],
      );
      const app = ok(t.app)!;
      assert.ok(app, `app ran: ${JSON.stringify(t.app)}`);

      // Every candidate that is not the subject must produce figures (the subject may be unbuilt).
      const subjectOk = !spaced.candidates.find((c) => c.id === 'smartasync')?.error;
      // warm() has every worker up (and the express one) before the first call.
      const start = spaced.candidates.find((c) => c.id === 'smartasync')!.start;
      if (subjectOk) {
        assert.equal(start?.method, 'warm()', `smartasync start ${JSON.stringify(start)}`);
        assert.equal(start.workers, p.workers + 1, 'warm() started the workers and the express worker');
      }
      for (const c of spaced.candidates.filter((c) => c.kind !== 'subject' || subjectOk)) {
        assert.equal(c.error, undefined, `spaced ${c.id}: ${c.error}`);
        for (const g of GAPS) {
          assert.equal(
            c.gaps[g]!.latency.count,
            p.spaced.rounds * p.spaced.calls,
            `spaced ${c.id} ${g}: every call recorded`,
          );
          // The stored histogram decodes to the same distribution.
          const h = hdr.decodeFromCompressedBase64(c.gaps[g]!.latency.hdr);
          assert.equal(h.totalCount, c.gaps[g]!.latency.count);
        }
      }
      for (const c of openloop.candidates.filter((c) => c.kind !== 'subject' || subjectOk)) {
        assert.equal(c.error, undefined, `open loop ${c.id}: ${c.error}`);
        assert.ok(c.saturation! > 0, `${c.id} has a closed-loop saturation`);
        assert.deepEqual(
          c.points.map((x) => x.rate),
          openloop.rates,
        );
        for (const x of c.points) assert.ok(x.rec.latency.count > 0 && x.achieved > 0, `${c.id} at ${x.rate}/s`);
      }
      for (const c of mixed.candidates.filter((c) => c.kind !== 'subject' || subjectOk)) {
        assert.equal(c.error, undefined, `mixed ${c.id}: ${c.error}`);
        assert.ok(c.alone!.latency.count > 0 && c.loaded!.latency.count > 0, `${c.id} light calls recorded`);
        assert.ok(c.longAlone!.median > 0 && c.longLoaded!.median > 0, `${c.id} long calls completed`);
        // Run times come from the worker's own clock: a long call runs about as long as asked.
        assert.ok(c.longRunMs!.alone > mixed.longMs / 3, `${c.id} long call ran ${c.longRunMs!.alone} ms`);
      }
      for (const c of idle.candidates.filter((c) => c.kind !== 'subject' || subjectOk)) {
        assert.equal(c.error, undefined, `idle ${c.id}: ${c.error}`);
        assert.ok(c.coreShare! >= 0 && c.cpuMs! >= 0, `${c.id} idle CPU measured`);
        // smartasync: the pool's workers and its express worker (started by warm()).
        const expected = p.workers + (c.id === 'smartasync' ? 1 : 0);
        if (c.id !== 'node') assert.equal(c.workers, expected, `${c.id} idles with every worker up`);
      }
      const scenarios = ['alone', 'with-report', ...p.app.rates.map((r) => `open-${r}`)];
      for (const build of ['smartasync', 'manual-piscina', 'naive']) {
        for (const sc of scenarios) {
          const s = app.scenarios.find((x) => x.build === build && x.scenario === sc);
          assert.ok(s && s.latency.count > 0, `app ${build} ${sc} measured`);
          assert.equal(s.errors, 0, `app ${build} ${sc} had no failed request`);
        }
      }
      assert.ok(
        app.scenarios.find((x) => x.build === 'smartasync' && x.scenario === 'with-report')!.report!.requestsPerSec > 0,
        'the report ran',
      );
      assert.deepEqual(
        app.firstRequest.map((f) => [f.build, f.error]),
        [
          ['smartasync (npm start)', undefined],
          ['smartasync', undefined],
          ['manual-piscina', undefined],
          ['naive', undefined],
        ],
      );
      for (const f of app.firstRequest)
        assert.ok(f.firstMs > 0 && f.warmMs > 0, `${f.build} first and warm requests timed`);

      const md = readFileSync(join(dir, 'results.md'), 'utf8');
      for (const heading of [
        '## Targets (issue 7, server traffic)',
        '## 6. Server traffic',
        '### 6.1 Spaced calls',
        '### 6.2 Open-loop arrivals',
        '### 6.3 Light calls among long calls',
        '### 6.4 The users API under traffic',
        '### 6.5 Idle cost and first call',
      ]) {
        assert.ok(md.includes(heading), `results.md has "${heading}"`);
      }
      for (const chart of ['traffic-spaced', 'traffic-openloop', 'traffic-mixed', 'traffic-app']) {
        assert.match(readFileSync(join(dir, `${chart}.svg`), 'utf8'), /^<svg[\s\S]*<\/svg>\s*$/, `${chart}.svg`);
      }
      const targets = (JSON.parse(readFileSync(join(dir, 'targets.json'), 'utf8')) as TargetCheck[]).filter((x) =>
        x.id.startsWith('traffic'),
      );
      const count = (id: string) => targets.filter((x) => x.id === id).length;
      assert.equal(count('traffic-spaced'), GAPS.length);
      assert.equal(count('traffic-timer'), 1);
      assert.equal(count('traffic-openloop'), openloop.rates.length);
      assert.equal(count('traffic-mixed'), 1);
      assert.equal(count('traffic-app-report'), 1);
      assert.equal(count('traffic-app-open'), p.app.rates.length);
      assert.equal(count('traffic-first'), 1);
      assert.equal(count('traffic-idle'), 1);
      if (subjectOk) {
        for (const x of targets) {
          assert.notEqual(x.verdict, 'not measured', `${x.id} ${x.where} has a verdict`);
          // A miss comes with its measured reason.
          if (x.verdict === 'missed') assert.ok(x.why && x.why.length > 40, `${x.id} ${x.where} says why`);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test('only a full run holding every section rewrites the README headline', () => {
  // A section that failed still counts as run: its rows say so.
  const all = ['roundtrip', 'throughput', 'payload', 'sync'].map((section) => ({
    job: { section },
    error: 'x',
  })) as unknown as Results['jobs'];
  const full = {
    meta: { size: 'full' },
    jobs: all,
    app: { error: 'x' },
    traffic: { error: 'x' },
    profiles: [],
  } as unknown as Results;
  assert.equal(updatesHeadline(full), true);
  assert.equal(updatesHeadline({ ...full, traffic: undefined }), false, 'without the traffic section');
  assert.equal(updatesHeadline({ ...full, jobs: all.slice(1) }), false, 'without the round trip');
  assert.equal(updatesHeadline({ ...full, meta: { ...full.meta, size: 'quick' } }), false, 'a quick run');
});

test('results.md warns when other processes took more than 0.1 core during the run', async () => {
  const { markdown } = await import('../src/report/markdown.ts');
  const meta = {
    date: '2026-01-01T00:00:00Z',
    size: 'smoke',
    command: 'x',
    node: 'v24',
    cpus: 2,
    cpuModel: 'cpu',
    platform: 'linux',
    commit: 'c',
    smartasyncVersion: null,
    smartasyncBuild: null,
    pinningAvailable: true,
    loadavgBefore: [0, 0, 0],
  };
  const at = (otherCores: number) =>
    markdown({ meta: { ...meta, otherCores }, jobs: [], profiles: [] } as unknown as Results, [], []);
  assert.match(
    at(0.52),
    /Other processes kept 0\.52 of the 2 cores busy[\s\S]*\*\*Other processes took 0\.52 cores on average during this run/,
  );
  assert.doesNotMatch(at(0.03), /\*\*Other processes took/);
});
