// The environments a worker must find user code in: it imports the module that called
// smartasync() and looks up the same key (module URL + call-site position). Each case runs a
// real program in a child process and checks its JSON output, its exit code, and that it
// exits on its own after its calls (an idle pool must not keep the process alive).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BIN,
  ENV_DIR,
  REPO_ROOT,
  describeExit,
  lastJson,
  run,
  runNode,
  type ChildResult,
} from './fixtures/env/child.ts';

interface Where {
  tag?: string;
  path?: string;
  id?: number;
  threadId: number;
  label?: string;
}
type Table = Record<
  | 'fnAwait'
  | 'fnSync'
  | 'asyncFnAwait'
  | 'asyncFnSync'
  | 'methodAwait'
  | 'methodSync'
  | 'asyncMethodAwait'
  | 'asyncMethodSync',
  Where
>;

function assertExitedCleanly(r: ChildResult): void {
  assert.equal(r.signal, null, describeExit(r));
  assert.equal(r.code, 0, describeExit(r));
}

/** The 2×2 table, for functions and classes, as every environment fixture prints it. */
function assertTable(r: ChildResult): Table {
  assertExitedCleanly(r);
  const t = lastJson<Table>(r);
  // sync body: awaited → a worker thread; .sync() → inline
  assert.equal(t.fnAwait.tag, 'a');
  assert.notEqual(t.fnAwait.threadId, 0, 'await f() of a sync body runs on a worker');
  assert.deepEqual(t.fnSync, { ...t.fnSync, tag: 'b', threadId: 0 });
  // async body: awaited → here; .sync() → another thread while this one blocks
  assert.deepEqual(t.asyncFnAwait, { tag: 'c', threadId: 0 });
  assert.equal(t.asyncFnSync.tag, 'd');
  assert.notEqual(t.asyncFnSync.threadId, 0, 'f.sync() of an async body runs on another thread');
  // class form: a worker replica built from the same constructor arguments
  assert.deepEqual(
    { ...t.methodAwait, threadId: undefined, label: undefined },
    { path: 'app.db', id: 1, threadId: undefined, label: undefined },
  );
  assert.notEqual(t.methodAwait.threadId, 0, 'await obj.method() of a sync method runs on a worker replica');
  assert.equal(t.methodSync.threadId, 0);
  assert.equal(t.methodSync.id, 2);
  assert.deepEqual(t.asyncMethodAwait, { path: 'app.db', id: 3, threadId: 0 });
  assert.equal(t.asyncMethodSync.path, 'app.db');
  assert.notEqual(t.asyncMethodSync.threadId, 0, 'obj.method.sync() of an async method runs on another thread');
  return t;
}

test('compiled JavaScript, ESM: functions and classes find their way to a worker', async () => {
  assertTable(await runNode(['esm/app.mjs'], ENV_DIR));
});

test('compiled JavaScript, CommonJS: the CJS build and the ESM worker share one registry', async () => {
  assertTable(await runNode(['cjs/app.cjs'], ENV_DIR));
});

test('one app that both imports and requires smartasync gets one copy: one pool, one configure()', async () => {
  const r = await runNode(['dual/app.mjs'], ENV_DIR);
  assertExitedCleanly(r);
  const out = lastJson<Record<string, unknown>>(r);
  assert.deepEqual(out.esmExports, out.cjsExports, 'the ESM entry exports what the CommonJS build does');
  assert.equal(out.samePool, true);
  assert.equal(out.sameErrorClass, true, 'instanceof works whichever way the error class was loaded');
  assert.equal(out.configuredSize, 1, 'configure() through import reached the pool required by CommonJS code');
  const [a, b] = out.threads as number[];
  assert.ok(a! > 0 && a === b, 'both calls ran on the one worker of the one pool');
  assert.equal(out.completed, 2);
});

test('compiled JavaScript with --enable-source-maps: workers import the shipped .js, not the mapped source', async () => {
  // The maps name ../src/lib.ts, which is not shipped: stack traces show it, workers must not import it.
  assert.equal(existsSync(path.join(ENV_DIR, 'sourcemap/src')), false);
  const map = JSON.parse(readFileSync(path.join(ENV_DIR, 'sourcemap/build/lib.js.map'), 'utf8')) as {
    sources: string[];
  };
  assert.deepEqual(map.sources, ['../src/lib.ts']);
  const r = await runNode(['--enable-source-maps', 'sourcemap/build/app.js'], ENV_DIR);
  assertExitedCleanly(r);
  const out = lastJson<Record<string, Where>>(r);
  assert.deepEqual({ ...out.fnAwait, threadId: 0 }, { tag: 'a', threadId: 0 });
  assert.notEqual(out.fnAwait!.threadId, 0);
  assert.deepEqual(out.fnSync, { tag: 'b', threadId: 0 });
  assert.equal(out.methodAwait!.path, 'app.db');
  assert.notEqual(out.methodAwait!.threadId, 0);
  assert.deepEqual(out.methodSync, { path: 'app.db', id: 2, threadId: 0 });
});

test('TypeScript run with tsx (enums, parameter properties, extensionless imports)', async () => {
  const t = assertTable(await runNode(['--import', 'tsx', 'tsx/app.ts'], ENV_DIR));
  // The worker ran code that needs tsx (an enum from an extensionless import).
  assert.equal(t.fnAwait.label, '1 row');
  assert.equal(t.methodAwait.label, '1 page');
});

test("TypeScript run by Node's built-in type stripping (node app.ts)", async () => {
  assertTable(await runNode(['strip/app.ts'], ENV_DIR));
});

test("a user's own Vitest suite importing smartasync-wrapped TypeScript modules", async () => {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'smartasync-vitest-'));
  try {
    const reportFile = path.join(outDir, 'report.json');
    const vitest = path.join(REPO_ROOT, 'node_modules/vitest/vitest.mjs');
    const r = await runNode(
      [
        vitest,
        'run',
        '--root',
        'vitest-project',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${reportFile}`,
      ],
      ENV_DIR,
      60_000,
    );
    assertExitedCleanly(r);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as {
      success: boolean;
      numTotalTests: number;
      numPassedTests: number;
      testResults: { name: string; status: string; assertionResults: { title: string; status: string }[] }[];
    };
    const results = report.testResults.flatMap((f) =>
      f.assertionResults.map((a) => `${path.basename(f.name)} > ${a.title}: ${a.status}`),
    );
    assert.equal(report.success, true, results.join('\n'));
    assert.equal(report.numTotalTests, 8, results.join('\n'));
    assert.equal(report.numPassedTests, 8, results.join('\n'));
    // Thread ids as the suite saw them: the body ran on a thread other than the test's.
    // eslint-disable-next-line no-control-regex
    const plain = r.stdout.replace(/\x1b\[[0-9;]*m/g, '');
    const seen = [...plain.matchAll(/^SMARTASYNC-THREADS (.+)$/gm)].map(
      (m) => JSON.parse(m[1]!) as { name: string; here: number; there: number },
    );
    assert.deepEqual(
      seen.map((s) => s.name).sort(),
      ['asyncSync', 'class', 'function', 'tsx-class', 'tsx-function'],
      plain,
    );
    for (const s of seen) assert.notEqual(s.there, s.here, `${s.name}: ran on the test's own thread`);
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
});

interface JestReport {
  success: boolean;
  numTotalTests: number;
  numPassedTests: number;
  testResults: { name: string; assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
}

/** Runs Jest (ts-jest) in the fixture project `project` and reads its JSON report. */
async function runJest(
  project: string,
  { nodeArgs = [] as string[], jestArgs = [] as string[] } = {},
): Promise<{
  r: ChildResult;
  report: JestReport;
  results: string[];
  threads: { name: string; here: number; there: number }[];
}> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'smartasync-jest-'));
  try {
    const reportFile = path.join(outDir, 'report.json');
    const jest = path.join(REPO_ROOT, 'node_modules/jest/bin/jest.js');
    const r = await runNode(
      [...nodeArgs, jest, '--ci', '--json', `--outputFile=${reportFile}`, `--cacheDirectory=${outDir}`, ...jestArgs],
      path.join(ENV_DIR, project),
      90_000,
    );
    assert.ok(existsSync(reportFile), describeExit(r));
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as JestReport;
    const results = report.testResults.flatMap((f) =>
      f.assertionResults.map(
        (a) => `${path.basename(f.name)} > ${a.title}: ${a.status}\n${a.failureMessages.join('\n')}`,
      ),
    );
    const threads = [...`${r.stdout}\n${r.stderr}`.matchAll(/SMARTASYNC-THREADS (\{.+\})$/gm)].map(
      (m) => JSON.parse(m[1]!) as { name: string; here: number; there: number },
    );
    return { r, report, results, threads };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

test('Jest with ts-jest, CommonJS: the recipe (tsx for the workers, in setupFiles) runs functions, classes, .sync() and errors', async () => {
  const { r, report, results, threads } = await runJest('jest-cjs');
  assert.equal(report.success, true, results.join('\n') + describeExit(r));
  assert.equal(report.numPassedTests, 6, results.join('\n'));
  assert.deepEqual(threads.map((s) => s.name).sort(), ['asyncSync', 'class', 'erasable', 'function'], describeExit(r));
  for (const s of threads) assert.notEqual(s.there, s.here, `${s.name}: ran on the test's own thread`);
});

test('Jest with ts-jest, CommonJS, without a loader for the workers: every failure names the fix', async () => {
  // The same project with its jest.config.js but for setupFiles: the workers are left on
  // Node's type stripping, which cannot load this package's TypeScript.
  const config = JSON.stringify({ preset: 'ts-jest', testEnvironment: 'node' });
  const { report, results } = await runJest('jest-cjs', { jestArgs: ['--config', config] });
  assert.equal(report.success, false);
  assert.equal(report.numPassedTests, 0, results.join('\n'));
  const failures = report.testResults.flatMap((f) => f.assertionResults.flatMap((a) => a.failureMessages));
  assert.ok(failures.length >= 6, results.join('\n'));
  for (const failure of failures) {
    assert.match(failure, /RegistrationError/, failure); // (the error-class test: "Received constructor: RegistrationError")
    if (failure.includes('a worker could not import'))
      assert.ok(failure.includes("configure({ execArgv: ['--import', 'tsx'] })"), failure);
  }
  assert.ok(failures.filter((f) => f.includes('a worker could not import')).length >= 5, results.join('\n'));
  // An erasable module fails only because the package is CommonJS: the message says so.
  const erasable = failures.find((f) => f.includes('units.ts'));
  assert.ok(erasable, results.join('\n'));
  assert.match(erasable, /"type": "commonjs".*setupFiles/s);
});

test('Jest with ts-jest, ESM (node --experimental-vm-modules): erasable TypeScript needs no loader', async () => {
  const { r, report, results, threads } = await runJest('jest-esm', { nodeArgs: ['--experimental-vm-modules'] });
  assert.equal(report.success, true, results.join('\n') + describeExit(r));
  assert.equal(report.numPassedTests, 5, results.join('\n'));
  assert.deepEqual(threads.map((s) => s.name).sort(), ['asyncSync', 'class', 'function'], describeExit(r));
  for (const s of threads) assert.notEqual(s.there, s.here, `${s.name}: ran on the test's own thread`);
});

test('smartasync() called after module load: the first offloaded call names the function, its location and the fix', async () => {
  const r = await runNode(['errors/late-app.mjs'], ENV_DIR);
  assertExitedCleanly(r);
  const out = lastJson<{
    inline: Where;
    offloaded?: unknown;
    error?: { name: string; code: string; message: string; isRegistrationError: boolean };
  }>(r);
  assert.deepEqual(out.inline, { n: 42, threadId: 0 } as unknown as Where, 'the inline .sync() path still works');
  assert.equal(out.offloaded, undefined);
  assert.ok(out.error, 'the offloaded call rejects');
  assert.equal(out.error.name, 'RegistrationError');
  assert.equal(
    out.error.isRegistrationError,
    true,
    'raised in the worker, still an instance of RegistrationError here',
  );
  assert.equal(out.error.code, 'ERR_SMARTASYNC_REGISTRATION');
  assert.match(out.error.message, /lateDoubler\(\)/);
  assert.ok(out.error.message.includes(`${path.join(ENV_DIR, 'errors/late.mjs')}:7:`), out.error.message);
  assert.match(out.error.message, /top level/);
});

test("smartasync() in the process's entry module: offloading explains the code belongs in its own module", async () => {
  const r = await runNode(['errors/entry-app.mjs'], ENV_DIR);
  assertExitedCleanly(r);
  const out = lastJson<{
    inline: Where & { n: number };
    asyncAwaited: Where & { n: number };
    offloaded?: unknown;
    bridged?: unknown;
    error?: { name: string; code: string; message: string; isRegistrationError: boolean };
    bridgeError?: { name: string; code: string; message: string; isRegistrationError: boolean };
  }>(r);
  // What runs on this thread still works.
  assert.deepEqual(out.inline, { n: 2, threadId: 0 });
  assert.deepEqual(out.asyncAwaited, { n: 3, threadId: 0 });
  // What would need a worker is refused, naming the function and the entry module.
  const entryFile = path.join(ENV_DIR, 'errors/entry-app.mjs');
  for (const [what, err] of [
    ['await inEntry()', out.error],
    ['inEntryAsync.sync()', out.bridgeError],
  ] as const) {
    assert.ok(err, `${what} is refused`);
    assert.equal(err.name, 'RegistrationError', what);
    assert.equal(err.isRegistrationError, true, what);
    assert.equal(err.code, 'ERR_SMARTASYNC_REGISTRATION', what);
    assert.ok(err.message.includes(entryFile), err.message);
    assert.match(err.message, /module this process was started with/);
    assert.match(err.message, /module of its own/);
  }
  assert.match(out.error!.message, /inEntry\(\)/);
  assert.match(out.bridgeError!.message, /inEntryAsync\(\)/);
  assert.equal(out.offloaded, undefined);
  assert.equal(out.bridged, undefined);
});

// Bun and Deno, both installed from npm (devDependencies): the same small apps, with their
// workers (node:worker_threads as each runtime provides it) finding the code on their own.
const runtimes = {
  Bun: (file: string) => run(path.join(BIN, 'bun'), [file], ENV_DIR),
  Deno: (file: string) => run(path.join(BIN, 'deno'), ['run', '--allow-all', '--cached-only', file], ENV_DIR),
};

for (const [name, runIn] of Object.entries(runtimes)) {
  for (const [what, file] of [
    ['JavaScript, ESM', 'esm/app.mjs'],
    ['JavaScript, CommonJS', 'cjs/app.cjs'],
    ['TypeScript', 'strip/app.ts'],
  ] as const) {
    test(`${name}, ${what}: functions and classes find their way to a worker`, async () => {
      assertTable(await runIn(file));
    });
  }
}

interface RegistrationOutput {
  inline: Where & { n: number };
  error?: { name: string; code: string; message: string; isRegistrationError: boolean };
}

test('Deno: smartasync() called inside a function is reported where it is, as on Node', async () => {
  const r = await runtimes.Deno('errors/late-app.mjs');
  assertExitedCleanly(r);
  const out = lastJson<RegistrationOutput>(r);
  assert.equal(out.error?.name, 'RegistrationError', r.stdout);
  assert.ok(out.error.message.includes(`${path.join(ENV_DIR, 'errors/late.mjs')}:7:`), out.error.message);
  assert.match(out.error.message, /top level/);
});

test('Bun: smartasync() called inside a function (whose frame Bun drops) is not blamed on the entry module', async () => {
  // makeDoubler() returns smartasync(...) directly: JavaScriptCore's proper tail calls leave no
  // frame of it, so the stack shows the entry module's call to makeDoubler() instead.
  const r = await runtimes.Bun('errors/late-app.mjs');
  assertExitedCleanly(r);
  const out = lastJson<RegistrationOutput>(r);
  assert.deepEqual(out.inline, { n: 42, threadId: 0 });
  assert.equal(out.error?.name, 'RegistrationError', r.stdout);
  assert.equal(out.error.isRegistrationError, true);
  const { message } = out.error;
  assert.match(message, /lateDoubler\(\)/);
  assert.match(message, /inside makeDoubler\(\)/, message);
  assert.match(message, /out of makeDoubler\(\), to the top level of its module/, message);
  assert.doesNotMatch(message, /into a module of its own/, message);
});

test('Bun: smartasync() in the entry module is still reported as such', async () => {
  const r = await runtimes.Bun('errors/entry-app.mjs');
  assertExitedCleanly(r);
  const out = lastJson<RegistrationOutput & { bridgeError?: RegistrationOutput['error'] }>(r);
  for (const err of [out.error, out.bridgeError]) {
    assert.equal(err?.name, 'RegistrationError', r.stdout);
    assert.ok(err.message.includes(path.join(ENV_DIR, 'errors/entry-app.mjs')), err.message);
    assert.match(err.message, /module this process was started with/);
    assert.match(err.message, /module of its own/);
  }
});
