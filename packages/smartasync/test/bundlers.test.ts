// Bundled apps: an example app (test/fixtures/bundled/src) bundled by esbuild, Rollup and Vite
// with smartasync's plugin, in ESM and CommonJS, then copied to a folder outside the repository,
// where smartasync cannot be resolved except through the bundle, and run by Node in a child
// process. Without the plugin, the same bundle must fail with an error that says what to do.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { rollup } from 'rollup';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import { build as viteBuild } from 'vite';
import { smartasyncEsbuild, smartasyncRollup, smartasyncVite } from 'smartasync/bundler';
import { describeExit, lastJson, runNode, type ChildResult } from './fixtures/env/child.ts';

const FIXTURE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/bundled');
const SRC = path.join(FIXTURE, 'src');
type Format = 'esm' | 'cjs';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'smartasync-bundles-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function entry(format: Format): string {
  return path.join(SRC, format === 'esm' ? 'entry-esm.js' : 'entry-cjs.js');
}

/** A new empty folder for one build's output, outside the repository. */
function outDir(name: string): string {
  const dir = path.join(scratch, 'build', name);
  rmSync(dir, { recursive: true, force: true });
  return dir;
}

/**
 * Copies a build's output to a folder of its own outside the repository, where nothing
 * resolves `smartasync`, and returns that folder. The package.json only says how Node reads
 * `.js` files.
 */
function deploy(dir: string, format: Format): string {
  const target = mkdtempSync(path.join(scratch, 'deploy-'));
  cpSync(dir, target, { recursive: true });
  writeFileSync(path.join(target, 'package.json'), JSON.stringify({ type: format === 'esm' ? 'module' : 'commonjs' }));
  assert.throws(
    () => createRequire(path.join(target, 'probe.js')).resolve('smartasync'),
    /Cannot find module/,
    'smartasync must be reachable only through the bundle',
  );
  return target;
}

async function bundleWithEsbuild(
  format: Format,
  options: { plugin?: boolean; packages?: 'external'; outdir?: string } = {},
): Promise<string> {
  const dir = options.outdir ?? outDir(`esbuild-${format}-${options.plugin === false ? 'plain' : 'plugin'}`);
  await esbuild({
    entryPoints: { app: entry(format) },
    bundle: true,
    platform: 'node',
    format,
    outdir: dir,
    sourcemap: true,
    logLevel: 'silent',
    ...(options.packages ? { packages: options.packages } : {}),
    plugins: options.plugin === false ? [] : [smartasyncEsbuild()],
  });
  return dir;
}

async function bundleWithRollup(format: Format): Promise<string> {
  const dir = outDir(`rollup-${format}`);
  const bundle = await rollup({
    input: { app: entry(format) },
    plugins: [smartasyncRollup(), nodeResolve()],
    onwarn: (warning, warn) => {
      if (warning.code !== 'CIRCULAR_DEPENDENCY') warn(warning);
    },
  });
  await bundle.write({ dir, format: format === 'esm' ? 'es' : 'cjs', sourcemap: true });
  await bundle.close();
  return dir;
}

async function bundleWithVite(format: Format, options: { external?: boolean; outdir?: string } = {}): Promise<string> {
  const dir = options.outdir ?? outDir(`vite-${format}`);
  await viteBuild({
    configFile: false,
    root: FIXTURE,
    logLevel: 'silent',
    plugins: [smartasyncVite()],
    // Bundle smartasync too, unless asked for Vite's default, which leaves dependencies out.
    ssr: options.external ? {} : { noExternal: true },
    build: {
      ssr: entry(format),
      outDir: dir,
      emptyOutDir: true,
      minify: false,
      sourcemap: true,
      rollupOptions: { output: { format: format === 'esm' ? 'es' : 'cjs', entryFileNames: 'app.js' } },
    },
  });
  return dir;
}

interface Where {
  tag?: string;
  path?: string;
  id?: number;
  connection?: string;
  threadId: number;
  error?: { name: string; code: string; message: string; isRegistrationError: boolean };
}
interface Report {
  fnAwait: Where;
  fnSync: Where;
  asyncFnAwait: Where;
  asyncFnSync: Where;
  methodAwait: Where;
  methodSync: Where;
  asyncMethodAwait: Where;
  asyncMethodSync: Where;
  replicaAwait: Where;
  replicaSync: Where;
  unusedSync: string;
  thrown: { name: string; message: string; isClass: boolean; needed: number; isRegistrationError: boolean };
  greet?: { text: string; threadId: number };
  inEntry: Where;
  workerModules: { modules: string[]; threadId: number };
  mainModules: string[];
}

function run(dir: string, file = 'app.js'): Promise<ChildResult> {
  assert.ok(existsSync(path.join(dir, file)), `${file} in ${readdirSync(dir).join(', ')}`);
  return runNode(['--enable-source-maps', file], dir);
}

/** The 2×2 table, replicas, error classes and module evaluation, as a working bundle reports them. */
function assertWorks(r: ChildResult, format: Format): Report {
  assert.equal(r.signal, null, describeExit(r));
  assert.equal(r.code, 0, describeExit(r));
  const t = lastJson<Report>(r);
  // sync body: awaited → a worker thread; .sync() → inline
  assert.equal(t.fnAwait.tag, 'a', JSON.stringify(t.fnAwait));
  assert.notEqual(t.fnAwait.threadId, 0, 'await f() of a sync body runs on a worker');
  assert.deepEqual(t.fnSync, { tag: 'b', threadId: 0 });
  // async body: awaited → here; .sync() → another thread while this one blocks
  assert.deepEqual(t.asyncFnAwait, { tag: 'c', threadId: 0 });
  assert.equal(t.asyncFnSync.tag, 'd', JSON.stringify(t.asyncFnSync));
  assert.notEqual(t.asyncFnSync.threadId, 0, 'f.sync() of an async body runs on another thread');
  // classes: a worker replica built from the constructor arguments, or by the replica factory
  assert.equal(t.methodAwait.path, 'app.db', JSON.stringify(t.methodAwait));
  assert.equal(t.methodAwait.id, 1);
  assert.notEqual(t.methodAwait.threadId, 0, 'await obj.method() runs on a worker replica');
  assert.deepEqual(t.methodSync, { path: 'app.db', id: 2, threadId: 0 });
  assert.deepEqual(t.asyncMethodAwait, { path: 'app.db', id: 3, threadId: 0 });
  assert.equal(t.asyncMethodSync.path, 'app.db', JSON.stringify(t.asyncMethodSync));
  assert.notEqual(t.asyncMethodSync.threadId, 0);
  assert.equal(t.replicaAwait.connection, 'opened on a worker', JSON.stringify(t.replicaAwait));
  assert.notEqual(t.replicaAwait.threadId, 0);
  assert.deepEqual(t.replicaSync, { connection: 'opened here', threadId: 0 });
  assert.equal(t.unusedSync, 'unused');
  // a registered error class thrown on a worker keeps its class and fields
  assert.deepEqual(
    { isClass: t.thrown.isClass, name: t.thrown.name, message: t.thrown.message, needed: t.thrown.needed },
    { isClass: true, name: 'InsufficientFunds', message: 'needs 5 more', needed: 5 },
  );
  if (format === 'esm') {
    // a module with top-level await, evaluated on a worker
    assert.equal(t.greet?.text, 'hello bundle', JSON.stringify(t.greet));
    assert.notEqual(t.greet?.threadId, 0);
  }
  // code registered in the entry module stays out of workers, with the reason and the fix
  assert.equal(t.inEntry.error?.isRegistrationError, true, JSON.stringify(t.inEntry));
  assert.match(t.inEntry.error!.message, /inEntry2?\(\).*an entry module of your bundle.*module of its own/);
  // the worker evaluated the modules whose code it ran (and their imports), never the entry
  // or the modules no call needed
  const onWorker = t.workerModules.modules;
  assert.notEqual(t.workerModules.threadId, 0);
  assert.deepEqual(
    [...onWorker].sort(),
    (format === 'esm' ? ['lib', 'settings'] : ['lib']).sort(),
    `modules evaluated on the worker: ${onWorker.join(', ')}`,
  );
  assert.deepEqual(
    [...t.mainModules].sort(),
    (format === 'esm' ? ['entry', 'lib', 'main', 'settings', 'side'] : ['entry', 'lib', 'main', 'side']).sort(),
  );
  return t;
}

for (const format of ['esm', 'cjs'] as const) {
  test(`esbuild, ${format}: a bundled app offloads with the plugin`, async () => {
    const dir = await bundleWithEsbuild(format);
    assert.ok(existsSync(path.join(dir, 'smartasync-worker.js')), 'the worker entry is written beside the bundle');
    assertWorks(await run(deploy(dir, format)), format);
  });

  test(`Rollup, ${format}: a bundled app offloads with the plugin`, async () => {
    assertWorks(await run(deploy(await bundleWithRollup(format), format)), format);
  });

  test(`Vite (SSR build), ${format}: a bundled app offloads with the plugin`, async () => {
    assertWorks(await run(deploy(await bundleWithVite(format), format)), format);
  });

  test(`esbuild, ${format}, without the plugin: offloading fails saying the plugin is needed`, async () => {
    const dir = await bundleWithEsbuild(format, { plugin: false });
    const r = await run(deploy(dir, format));
    assert.equal(r.code, 0, describeExit(r));
    const t = lastJson<Report>(r);
    // What stays on this thread still works.
    assert.deepEqual(t.fnSync, { tag: 'b', threadId: 0 });
    assert.deepEqual(t.asyncFnAwait, { tag: 'c', threadId: 0 });
    for (const [name, cell] of Object.entries({
      fnAwait: t.fnAwait,
      asyncFnSync: t.asyncFnSync,
      methodAwait: t.methodAwait,
    })) {
      assert.equal(cell.error?.isRegistrationError, true, `${name}: ${JSON.stringify(cell)}`);
      assert.equal(cell.error?.code, 'ERR_SMARTASYNC_REGISTRATION');
      assert.match(
        cell.error!.message,
        /bundled into .*app\.js.*without smartasync's bundler plugin/,
        cell.error!.message,
      );
      assert.match(
        cell.error!.message,
        /smartasyncEsbuild\(\).*'smartasync\/bundler'|'smartasync\/bundler'.*smartasyncEsbuild\(\)/,
      );
      assert.match(cell.error!.message, /"Bundled apps" in smartasync's README/);
    }
  });
}

for (const format of ['esm', 'cjs'] as const) {
  test(`esbuild, ${format}: decorated classes (@offloadable, @offloadable({ replica })) offload from a bundle`, async () => {
    const dir = outDir(`esbuild-decorators-${format}`);
    await esbuild({
      entryPoints: { app: path.join(SRC, 'entry-decorators.ts') },
      bundle: true,
      platform: 'node',
      target: 'node22', // Node runs no decorators: esbuild lowers them
      format,
      outdir: dir,
      logLevel: 'silent',
      plugins: [smartasyncEsbuild()],
    });
    const r = await run(deploy(dir, format));
    assert.equal(r.code, 0, describeExit(r));
    const out = lastJson<{
      total: { name: string; sum: number; threadId: number };
      sent: { to: string; transport: string; threadId: number };
    }>(r);
    assert.equal(out.total.name, 'books', JSON.stringify(out));
    assert.equal(out.total.sum, 5050);
    assert.notEqual(out.total.threadId, 0, 'the @offload method ran on a worker replica');
    assert.equal(out.sent.transport, 'worker transport', 'the replica factory built the worker replica');
    assert.notEqual(out.sent.threadId, 0);
  });
}

test('esbuild: outputs in several folders each get the worker entry; workerName names it', async () => {
  const dir = outDir('esbuild-nested');
  await esbuild({
    entryPoints: { app: entry('esm'), 'jobs/app': entry('esm') },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outdir: dir,
    logLevel: 'silent',
    plugins: [smartasyncEsbuild({ workerName: 'offload-worker' })],
  });
  assert.deepEqual(readdirSync(dir).sort(), ['app.js', 'jobs', 'offload-worker.js']);
  assert.deepEqual(readdirSync(path.join(dir, 'jobs')).sort(), ['app.js', 'offload-worker.js']);
  const deployed = deploy(dir, 'esm');
  assertWorks(await run(deployed), 'esm');
  assertWorks(await run(deployed, 'jobs/app.js'), 'esm');
});

test("esbuild: the worker entry's build runs the build's other plugins unless workerPlugins says otherwise", async () => {
  const setups: string[] = [];
  const counting = { name: 'counting', setup: () => void setups.push('setup') };
  const options = (plugin: ReturnType<typeof smartasyncEsbuild>) => ({
    entryPoints: { app: entry('cjs') },
    bundle: true,
    platform: 'node' as const,
    format: 'cjs' as const,
    outdir: outDir('esbuild-plugins'),
    write: false,
    logLevel: 'silent' as const,
    plugins: [counting, plugin],
  });
  const both = await esbuild(options(smartasyncEsbuild()));
  assert.equal(setups.length, 2, 'set up for the app and for the worker entry');
  assert.deepEqual(
    (both.outputFiles ?? []).map((f) => path.basename(f.path)).sort(),
    ['app.js', 'smartasync-worker.js'],
    'with write: false the worker entry is among the output files',
  );
  setups.length = 0;
  await esbuild(options(smartasyncEsbuild({ workerPlugins: [] })));
  assert.equal(setups.length, 1, 'set up for the app only');
});

test('esbuild with packages left external (smartasync loaded from node_modules) offloads with the plugin', async () => {
  // Run in the repository, where node_modules holds smartasync.
  const dir = path.join(FIXTURE, '.tmp', 'esbuild-external');
  rmSync(dir, { recursive: true, force: true });
  await bundleWithEsbuild('esm', { packages: 'external', outdir: dir });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  assertWorks(await run(dir), 'esm');
});

test("Vite's default SSR build (smartasync left out, loaded from node_modules) offloads with the plugin", async () => {
  const dir = path.join(FIXTURE, '.tmp', 'vite-external');
  await bundleWithVite('esm', { external: true, outdir: dir });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
  assertWorks(await run(dir), 'esm');
});

test('the Vite plugin applies to server builds only', () => {
  const plugin = smartasyncVite();
  assert.equal(plugin.apply({}, { command: 'serve' }), false, 'dev server');
  assert.equal(plugin.apply({}, { command: 'build' }), false, 'client build');
  assert.equal(plugin.apply({ build: { ssr: 'src/server.ts' } }, { command: 'build' }), true);
  assert.equal(plugin.apply({}, { command: 'build', isSsrBuild: true }), true);
  assert.equal(plugin.applyToEnvironment({ config: { consumer: 'client' } }), false);
  assert.equal(plugin.applyToEnvironment({ config: { consumer: 'server' } }), true);
});

test('a plugin-built bundle deployed without its worker entry says which file is missing', async () => {
  const dir = deploy(await bundleWithEsbuild('esm', { outdir: outDir('esbuild-no-worker') }), 'esm');
  rmSync(path.join(dir, 'smartasync-worker.js'));
  const r = await run(dir);
  assert.equal(r.code, 0, describeExit(r));
  const t = lastJson<Report>(r);
  assert.deepEqual(t.fnSync, { tag: 'b', threadId: 0 });
  assert.equal(t.fnAwait.error?.isRegistrationError, true, JSON.stringify(t.fnAwait));
  assert.ok(
    t.fnAwait.error!.message.includes(`the worker entry ${path.join(dir, 'smartasync-worker.js')} is missing`),
    t.fnAwait.error!.message,
  );
  assert.match(t.fnAwait.error!.message, /deploy it with the bundle/);
});
