// The decorator form, compiled as users compile it: TC39 standard decorators (tsc, ES2022,
// ESM; and tsx) and experimentalDecorators (tsc to CommonJS with decorator metadata, as
// NestJS does). Each compiled program runs in a child process that must exit on its own.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENV_DIR, REPO_ROOT, describeExit, lastJson, runNode, type ChildResult } from './fixtures/env/child.ts';

const FIXTURES = path.join(ENV_DIR, 'decorators');
const TSC = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
const COMMON = ['--strict', '--skipLibCheck', '--types', 'node', '--rootDir', '.'];
const STANDARD = ['--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', ...COMMON];
const LEGACY = [
  '--target',
  'ES2021',
  '--module',
  'commonjs',
  '--moduleResolution',
  'node10',
  '--experimentalDecorators',
  '--emitDecoratorMetadata',
  ...COMMON,
];

let outRoot: string;
const compiled: Record<'standard' | 'legacy' | 'standardBad' | 'legacyBad', { dir: string; tsc: ChildResult }> =
  {} as never;

/** Compiles `files` with tsc into a fresh directory that resolves `smartasync` like an app would. */
async function compile(
  name: keyof typeof compiled,
  flags: string[],
  files: string[],
  type: 'module' | 'commonjs',
): Promise<void> {
  const dir = path.join(outRoot, name);
  mkdirSync(dir);
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type }));
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const tsc = await runNode([TSC, ...flags, '--outDir', dir, ...files], FIXTURES, 60_000);
  compiled[name] = { dir, tsc };
}

before(async () => {
  outRoot = mkdtempSync(path.join(os.tmpdir(), 'smartasync-decorators-'));
  // Two at a time: tsc is CPU-bound and the machine is shared.
  await Promise.all([
    compile('standard', STANDARD, ['repo.ts', 'app.ts'], 'module'),
    compile('legacy', LEGACY, ['repo.ts', 'app.ts', 'reflect-app.ts'], 'commonjs'),
  ]);
  await Promise.all([
    compile('standardBad', STANDARD, ['bad.ts', 'bad-app.ts'], 'module'),
    compile('legacyBad', LEGACY, ['bad.ts', 'bad-app.ts'], 'commonjs'),
  ]);
});

after(() => {
  if (outRoot) rmSync(outRoot, { recursive: true, force: true });
});

interface AppOutput {
  repo: { path: string; sum: number; threadId: number; reposBuilt: number };
  repoAgain: { path: string; sum: number; threadId: number; reposBuilt: number };
  cache: { name: string; n: number; threadId: number };
  light: { path: string; n: number; threadId: number };
  isRepo: boolean;
  isCache: boolean;
  path: string;
  unmarked: { name: string; message: string };
  quickThreads: number[];
  warnings: string[];
  badPlacement: string;
  tick: { at: string; threadId: number };
}

function assertApp(r: ChildResult): void {
  assert.equal(r.signal, null, describeExit(r));
  assert.equal(r.code, 0, describeExit(r));
  const out = lastJson<AppOutput>(r);
  // @offload: the synchronous body ran on a worker, on a replica built from the ctor args.
  assert.equal(out.repo.path, 'users.db');
  assert.equal(out.repo.sum, 5050);
  assert.notEqual(out.repo.threadId, 0);
  // The replica is built once per worker and reused (the pool has one worker).
  assert.equal(out.repoAgain.sum, 55);
  assert.equal(out.repoAgain.threadId, out.repo.threadId);
  assert.equal(out.repo.reposBuilt, 1);
  assert.equal(out.repoAgain.reposBuilt, 1);
  // A second decorated class in the same module, with a method of the same name: its own
  // registration, its own replica (a collision would have built a Repo from 'hot').
  assert.deepEqual(out.cache, { name: 'hot', n: 40, threadId: out.cache.threadId });
  assert.notEqual(out.cache.threadId, 0);
  // Undecorated methods and the instance itself stay here and keep their class.
  assert.deepEqual(out.light, { path: 'users.db', n: 7, threadId: 0 });
  assert.equal(out.isRepo, true);
  assert.equal(out.isCache, true);
  assert.equal(out.path, 'users.db');
  // @offload without @offloadable: refused, saying what is missing.
  assert.equal(out.unmarked.name, 'RegistrationError');
  assert.match(out.unmarked.message, /@offload on heavy\(\) needs @offloadable/);
  // Parity with smartasync(Class): offload: 'auto' (workers first, to measure; then here)...
  assert.ok(
    out.quickThreads.slice(0, 8).every((t) => t !== 0),
    `first calls on workers: ${out.quickThreads}`,
  );
  assert.deepEqual(out.quickThreads.slice(8), [0, 0], 'then inline');
  // ... the development warning when a worker-side call changes the replica ...
  assert.equal(out.warnings.length, 1, out.warnings.join('\n'));
  assert.match(out.warnings[0]!, /^SmartAsyncWarning: Forgetful#visit\(\) changed this\.seen on a worker's replica/);
  // ... and options validated when the class is defined.
  assert.match(
    out.badPlacement,
    /^TypeError: smartasync: placement for class Misplaced must be 'spread' or 'pinned', got "everywhere"/,
  );
  // An injected dependency cannot cross threads: a replica factory builds the worker's instance.
  assert.equal(out.tick.at, '12:00 worker time');
  assert.notEqual(out.tick.threadId, 0);
}

test('TC39 standard decorators compiled by tsc (ES2022, ESM): @offload runs on a worker replica', async () => {
  assert.equal(compiled.standard.tsc.code, 0, describeExit(compiled.standard.tsc));
  assertApp(await runNode(['app.js'], compiled.standard.dir));
});

test('TC39 standard decorators run by tsx', async () => {
  assertApp(await runNode(['--import', 'tsx', 'app.ts'], FIXTURES));
});

test('experimentalDecorators compiled by tsc to CommonJS with metadata (NestJS style)', async () => {
  assert.equal(compiled.legacy.tsc.code, 0, describeExit(compiled.legacy.tsc));
  assertApp(await runNode(['app.js'], compiled.legacy.dir));
});

test('experimentalDecorators with reflect-metadata loaded first (NestJS): registrations are found at the decorated class', async () => {
  assert.equal(compiled.legacy.tsc.code, 0, describeExit(compiled.legacy.tsc));
  assertApp(await runNode(['reflect-app.js'], compiled.legacy.dir));
});

for (const kind of ['standard', 'legacy'] as const) {
  const label = kind === 'standard' ? 'TC39 decorators' : 'experimentalDecorators';
  test(`${label}: @offload on a method not declared async is a compile error, and a TypeError at definition`, async () => {
    const { tsc, dir } = compiled[kind === 'standard' ? 'standardBad' : 'legacyBad'];
    assert.notEqual(tsc.code, 0, 'tsc must reject @offload on a sync method');
    assert.match(
      tsc.stdout,
      /bad\.ts\(7,4\): error TS1241: Unable to resolve signature of method decorator/,
      tsc.stdout,
    );
    // tsc still emits the JavaScript; running it fails when the class is defined.
    const r = await runNode(['bad-app.js'], dir);
    assert.equal(r.code, 0, describeExit(r));
    const out = lastJson<{ loaded: boolean; name: string; message: string }>(r);
    assert.equal(out.loaded, false);
    assert.equal(out.name, 'TypeError');
    assert.match(out.message, /@offload applies to methods declared async.*heavy\(\) is not/);
  });
}
