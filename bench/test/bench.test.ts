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
  for (const id of ['piscina:default', 'tinypool:default', 'workerpool:default', 'poolifier:default', 'raw:postMessage', 'floor:atomics', 'smartasync']) {
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
  for (const heading of ['## Targets (issue 4)', '## 1. Round trip', '## 2. Throughput', '## 3. Payload', '## 4. Sync direction']) {
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
    seed(url);
    for (const build of ['naive', 'manual-piscina', 'smartasync'] as const) servers.push(await startServer(build, url, 1000));
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
