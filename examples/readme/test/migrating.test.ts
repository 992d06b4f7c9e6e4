// The migration guide (docs/migrating.md): its blocks are files of complete programs
// (migrating/), each example written for piscina or workerpool and again for smartasync. The
// blocks must match their files (readme.test.ts type-checks them with the README's); both
// versions of each example run here, in a fresh directory, and must print the same thing, the
// peer's from its worker threads and ours from smartasync's pool. The options table must name
// every option the installed piscina and workerpool have, and only options smartasync has.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, scryptSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import workerpool from 'workerpool';
import type { PoolStats } from 'smartasync';
import { MIGRATING, expectedText, parseBlocks } from '../blocks.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLES = path.dirname(HERE);
const OBSERVE = path.join(HERE, 'observe-threads.ts');
const guide = fs.readFileSync(MIGRATING, 'utf8');
const dirs: string[] = [];
after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Worker threads the process started, and smartasync's pool statistics at exit. */
  threads: number;
  pool: PoolStats;
}

/** Runs a program of migrating/ to its end in a fresh directory (it must exit on its own). */
function runProgram(file: string): Promise<Run> {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'migrating-'));
  dirs.push(cwd);
  const statsFile = path.join(cwd, 'threads.json');
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', THREADS_STATS: statsFile };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', OBSERVE, path.join(EXAMPLES, 'migrating', file)],
      { cwd, env, timeout: 30_000, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const seen = fs.existsSync(statsFile)
          ? (JSON.parse(fs.readFileSync(statsFile, 'utf8')) as { threads: number; pool: PoolStats })
          : { threads: -1, pool: undefined as unknown as PoolStats };
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr, ...seen });
      },
    );
  });
}

function assertRan(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.stderr, '', `${what} wrote to stderr`);
  assert.ok(r.threads > 0, `${what} started no worker thread`);
}

test('every TypeScript block of docs/migrating.md is its files, word for word', () => {
  const blocks = parseBlocks(guide).filter((b) => b.language === 'ts');
  assert.equal(blocks.length, 4);
  for (const block of blocks) {
    assert.ok(block.files.length > 0, `docs/migrating.md:${block.line}: a block without a <!-- code: ... --> marker`);
    assert.equal(
      block.text,
      expectedText(block.files),
      `docs/migrating.md:${block.line} differs from ${block.files.join(' + ')} (npm run readme writes them in)`,
    );
  }
});

test("piscina's scrypt example and its smartasync version print the same hashes, each from worker threads", async () => {
  const expected = ['correct horse', 'battery staple', 'hunter2']
    .map((password) => scryptSync(password, 'per-app salt', 64).toString('hex'))
    .join('\n');
  const [piscina, ours] = await Promise.all([
    runProgram('piscina/before/main.ts'),
    runProgram('piscina/after/main.ts'),
  ]);
  assertRan(piscina, 'piscina/before');
  assertRan(ours, 'piscina/after');
  assert.equal(piscina.stdout.trim(), expected);
  assert.equal(ours.stdout, piscina.stdout);
  assert.equal(piscina.pool.completed, 0, 'piscina ran them');
  assert.equal(ours.pool.completed, 3, `the three calls ran on smartasync's workers: ${JSON.stringify(ours.pool)}`);
});

test("workerpool's example and its smartasync version print the same numbers, each from worker threads", async () => {
  const [peer, ours] = await Promise.all([
    runProgram('workerpool/before/main.ts'),
    runProgram('workerpool/after/main.ts'),
  ]);
  assertRan(peer, 'workerpool/before');
  assertRan(ours, 'workerpool/after');
  assert.equal(peer.stdout, '75025 121393 196418\n');
  assert.equal(ours.stdout, peer.stdout);
  assert.equal(peer.pool.completed, 0, 'workerpool ran them');
  assert.equal(ours.pool.completed, 3, JSON.stringify(ours.pool));
});

// The guide says a function workerpool sends as source text cannot use what is around it,
// where a function smartasync wraps can (hash.ts uses its import, run above).
const salt = 'per-app salt';
test('a function workerpool.exec() sends as source text cannot use the variables around it', async () => {
  const pool = workerpool.pool({ workerType: 'thread', maxWorkers: 1 });
  try {
    const digest = (text: string) =>
      createHash('sha256')
        .update(text + salt)
        .digest('hex');
    // workerpool's promise is its own class, not a native one.
    await assert.rejects(async () => pool.exec(digest, ['secret']), /createHash is not defined|salt is not defined/);
    assert.equal(await pool.exec((a: number, b: number) => a + b, [2, 3]), 5, 'a self-contained function runs');
  } finally {
    await pool.terminate();
  }
});

/** The property names of each type alias exported by test/options.ts, as the compiler sees them. */
function optionNames(): Record<string, string[]> {
  const file = path.join(HERE, 'options.ts');
  const config = ts.getParsedCommandLineOfConfigFile(
    path.join(EXAMPLES, 'tsconfig.json'),
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  )!;
  const program = ts.createProgram([file], config.options);
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
  return Object.fromEntries(
    checker
      .getExportsOfModule(module)
      .map((symbol) => [
        symbol.name,
        checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(symbol)).map((p) => p.name),
      ]),
  );
}

/** The table's rows, each a list of cells (piscina, workerpool, smartasync). */
function tableRows(): string[][] {
  const start = guide.indexOf('| piscina | workerpool | smartasync |');
  assert.notEqual(start, -1, 'the options table');
  return guide
    .slice(start)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split(' | ')
        .map((cell) => cell.trim()),
    );
}

/** The identifiers in a cell's code spans: `close({ force })` gives close and force. */
const codeWords = (cell: string) =>
  new Set([...cell.matchAll(/`([^`]+)`/g)].flatMap((m) => m[1]!.match(/[A-Za-z_$][\w$]*/g) ?? []));

test('the options table names every option of piscina and workerpool, and only options smartasync has', () => {
  const names = optionNames();
  const rows = tableRows();
  assert.ok(rows.length > 20, `${rows.length} rows`);
  for (const row of rows) assert.equal(row.length, 3, `a row of three cells: ${row.join(' | ')}`);
  const piscina = new Set(rows.flatMap((row) => [...codeWords(row[0]!)]));
  const pool = new Set(rows.flatMap((row) => [...codeWords(row[1]!)]));
  for (const type of ['PiscinaOptions', 'PiscinaRunOptions', 'PiscinaCloseOptions'])
    for (const option of names[type]!)
      assert.ok(piscina.has(option), `piscina's ${type} has ${option}, not in the table`);
  for (const type of ['WorkerpoolOptions', 'WorkerpoolExecOptions', 'WorkerpoolWorkerOptions'])
    for (const option of names[type]!)
      assert.ok(pool.has(option), `workerpool's ${type} has ${option}, not in the table`);

  // Ours: every option the table gives to configure() or to .with() exists.
  const ours = rows.map((row) => row[2]!).join('\n');
  const given = (pattern: RegExp) => [...ours.matchAll(pattern)].map((m) => m[1]!);
  const configured = given(/`configure\(\{ (\w+)/g);
  const perCall = given(/`\w+\.with\(\{ (\w+)/g);
  assert.ok(configured.length >= 6 && perCall.length >= 3, `${configured} ${perCall}`);
  for (const option of configured) assert.ok(names.OurPoolOptions!.includes(option), `configure({ ${option} })`);
  for (const option of perCall) assert.ok(names.OurCallOptions!.includes(option), `.with({ ${option} })`);
  // The statistics named are exactly those stats() returns.
  const stats = rows.find((row) => row[2]!.startsWith('`getPool().stats()`: `workers`'))![2]!;
  assert.deepEqual(
    [...codeWords(stats)].filter((w) => !['getPool', 'stats'].includes(w)).sort(),
    [...names.OurPoolStats!].sort(),
  );
  const totals = rows.find((row) => row[0]!.includes('`histogram`'))![2]!;
  for (const field of names.OurDurationStats!) assert.ok(codeWords(totals).has(field), `runTime's ${field}`);
});
