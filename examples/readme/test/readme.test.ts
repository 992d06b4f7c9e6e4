// Every TypeScript block of the root README.md is a file (or a few) of a complete program:
// the blocks must match their files word for word, the files must type-check, and the
// programs run here, each in a child process with real worker threads, in a fresh directory.
// (The NestJS block is examples/nestjs's provider: that example's own test runs it. The Vite
// config is type-checked here; packages/smartasync/test/bundlers.test.ts builds with the plugin.
// The Jest recipe's blocks are files of a Jest project that packages/smartasync/test/
// environments.test.ts runs.)
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { PoolStats } from 'smartasync';
import { README, REPO_ROOT, expectedText, parseBlocks } from '../blocks.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXAMPLES = path.dirname(HERE);
const OBSERVE = path.join(HERE, 'observe.ts');
const TSC = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
const allBlocks = parseBlocks(fs.readFileSync(README, 'utf8'));
const blocks = allBlocks.filter((b) => b.language === 'ts');
const dirs: string[] = [];
after(() => dirs.forEach((dir) => fs.rmSync(dir, { recursive: true, force: true })));

/** A fresh working directory: each program makes its own users.db. */
function freshDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'readme-'));
  dirs.push(dir);
  return dir;
}

// The child is a plain program, not part of this test run, with no inherited loaders.
function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  return env;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  stats: PoolStats;
}

/** Runs an example program to its end (it must exit on its own) and reads the pool's statistics. */
function runProgram(file: string, cwd: string, { args = [] as string[], tsx = false } = {}): Promise<Run> {
  const statsFile = path.join(cwd, `stats-${path.basename(path.dirname(file))}.json`);
  // By URL: the program runs in a fresh directory, where `--import tsx` would find no package.
  const loaders = [...(tsx ? ['--import', import.meta.resolve('tsx')] : []), '--import', OBSERVE];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...loaders, path.join(EXAMPLES, file), ...args],
      { cwd, timeout: 30_000, killSignal: 'SIGKILL', env: childEnv({ README_STATS: statsFile }) },
      (err, stdout, stderr) => {
        const stats = fs.existsSync(statsFile)
          ? (JSON.parse(fs.readFileSync(statsFile, 'utf8')) as PoolStats)
          : undefined;
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr, stats: stats! });
      },
    );
  });
}

function assertRan(r: Run, what: string): void {
  assert.equal(r.code, 0, `${what} exited ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`);
  assert.equal(r.stderr, '', `${what} wrote to stderr`);
  assert.ok(r.stats, `${what} left no statistics`);
}

test('every TypeScript block of README.md is its files, word for word', () => {
  assert.ok(blocks.length >= 8, `${blocks.length} TypeScript blocks`);
  for (const block of blocks) {
    const at = `README.md:${block.line}`;
    assert.notEqual(block.files.length, 0, `${at}: a TypeScript block without a <!-- code: ... --> marker`);
    assert.equal(
      block.text,
      expectedText(block.files),
      `${at} differs from ${block.files.join(' + ')} (npm run readme writes them in)`,
    );
  }
});

test('every other marked block (a JavaScript config) is its files, word for word', () => {
  const marked = allBlocks.filter((b) => b.language !== 'ts' && b.files.length > 0);
  assert.ok(marked.length >= 1);
  for (const block of marked) {
    assert.equal(
      block.text,
      expectedText(block.files),
      `README.md:${block.line} differs from ${block.files.join(' + ')} (npm run readme writes them in)`,
    );
  }
});

test('the files type-check, strict, in the projects they belong to', async () => {
  const projects = new Set<string>();
  for (const file of blocks.flatMap((b) => b.files)) {
    let dir = path.dirname(path.join(REPO_ROOT, file));
    while (!fs.existsSync(path.join(dir, 'tsconfig.json'))) dir = path.dirname(dir);
    projects.add(dir);
  }
  assert.deepEqual([...projects].map((p) => path.relative(REPO_ROOT, p)).sort(), [
    'examples/nestjs',
    'examples/readme',
    'packages/smartasync/test/fixtures/env/jest-cjs',
  ]);
  for (const project of projects) {
    const out = await new Promise<string | undefined>((resolve) =>
      execFile(process.execPath, [TSC, '-p', project, '--noEmit'], { timeout: 120_000 }, (err, stdout) =>
        resolve(err ? stdout || String(err) : undefined),
      ),
    );
    assert.equal(out, undefined, `tsc -p ${path.relative(REPO_ROOT, project)}:\n${out}`);
  }
});

test('intro: the CLI writes and reads inline; the server answers from a worker', async () => {
  const cwd = freshDir();
  const cli = await runProgram('intro/cli.ts', cwd, { args: ['Ada'] });
  assertRan(cli, 'cli.ts');
  assert.match(cli.stdout, /│\s*0\s*│\s*1\s*│\s*'Ada'\s*│/, cli.stdout);
  assert.equal(cli.stats.workers, 0, '.sync() never left the thread');
  assertRan(await runProgram('intro/cli.ts', cwd, { args: ['Grace'] }), 'cli.ts');

  const { body, stats } = await serveOnce('intro/server.ts', cwd, '/users', (r) => r.json());
  assert.deepEqual(body, [
    { id: 1, name: 'Ada' },
    { id: 2, name: 'Grace' },
  ]);
  assert.ok(stats.workers >= 1 && stats.completed >= 1, `the query ran on a worker: ${JSON.stringify(stats)}`);
});

test('streaming: the CLI reads the rows inline; the server streams them from a worker as NDJSON', async () => {
  const cwd = freshDir();
  for (const name of ['Ada', 'Grace', 'Linus'])
    assertRan(await runProgram('intro/cli.ts', cwd, { args: [name] }), 'intro/cli.ts');
  const cli = await runProgram('streaming/cli.ts', cwd);
  assertRan(cli, 'streaming/cli.ts');
  assert.equal(cli.stdout, 'Ada\nGrace\nLinus\n');
  assert.equal(cli.stats.workers, 0, '.sync() of a generator function runs inline');

  const { body, stats } = await serveOnce('streaming/server.ts', cwd, '/users.ndjson', (r) => r.text());
  assert.equal(body, '{"id":1,"name":"Ada"}\n{"id":2,"name":"Grace"}\n{"id":3,"name":"Linus"}\n');
  assert.ok(stats.workers >= 1 && stats.completed >= 1, `the rows came from a worker: ${JSON.stringify(stats)}`);
});

test('functions: the same hash from a worker and inline', async () => {
  const r = await runProgram('functions/main.ts', freshDir());
  assertRan(r, 'functions/main.ts');
  const [worker, inline] = r.stdout.trim().split('\n');
  assert.match(worker!, /^[0-9a-f]{128}$/);
  assert.equal(inline, worker);
  assert.equal(r.stats.completed, 1, 'one call on a worker');
});

test('classes: a worker replica and this thread write to one database; close() releases both', async () => {
  const r = await runProgram('classes/main.ts', freshDir());
  assertRan(r, 'classes/main.ts');
  assert.equal(r.stdout, "[ { id: 1, name: 'Ada' }, { id: 2, name: 'Grace' } ]\ntrue\n");
  assert.ok(r.stats.completed >= 2, `add() and all() on workers: ${JSON.stringify(r.stats)}`);
});

test('decorators (compiled by tsx): the decorated method runs on a worker', async () => {
  const r = await runProgram('decorators/main.ts', freshDir(), { tsx: true });
  assertRan(r, 'decorators/main.ts');
  assert.equal(r.stdout, '3 0 on a worker\n');
  assert.equal(r.stats.completed, 1);
});

test('per-call options: signal and timeout on a method; a transferred buffer leaves this thread', async () => {
  const r = await runProgram('options/main.ts', freshDir());
  assertRan(r, 'options/main.ts');
  const [rows, sizes] = r.stdout.trim().split('\n');
  assert.equal(rows, '[]');
  const [left, packed] = sizes!.split(' ').map(Number);
  assert.equal(left, 0, 'the buffer was moved to the worker');
  assert.ok(packed! > 0 && packed! < 11_000, `gzip of 11,000 repetitive bytes: ${packed}`);
  assert.equal(r.stats.completed, 2);
});

test('the pool: configure, warm, stats, close', async () => {
  const r = await runProgram('pool/main.ts', freshDir());
  assertRan(r, 'pool/main.ts');
  assert.match(r.stdout, /^\[\]\n\{\n {2}workers: 3,/, 'two workers and the express one, warmed');
  assert.match(r.stdout, /completed: 1,/);
  assert.equal(r.stats.workers, 0, 'closed: no worker left');
});

test('context: the request’s values reach the worker; the channel and the per-function figures see the call', async () => {
  const r = await runProgram('context/main.ts', freshDir());
  assertRan(r, 'context/main.ts');
  assert.deepEqual(r.stdout.trim().split('\n'), [
    'audit() ran on smartasync-1',
    'req-1: ada exported users',
    'audit() 1 1',
  ]);
});

test('errors: a registered error class thrown on a worker arrives as itself', async () => {
  const r = await runProgram('errors/main.ts', freshDir());
  assertRan(r, 'errors/main.ts');
  assert.equal(r.stdout, 'true 15 short\n');
  assert.equal(r.stats.failed, 1);
});

test('import side effects: the server in reports.ts starts on the main thread only; workers import it and skip it', async () => {
  // Without the isWorker guard each worker importing reports.ts would listen on the same port
  // and fail to import it (EADDRINUSE): the report would fail.
  const { body, stats } = await serveOnce('side-effects/main.ts', freshDir(), '/report/3', (r) => r.json());
  let total = 0;
  for (let order = 1; order <= 1_000_000; order++) total += (order * 3) % 7;
  assert.deepEqual(body, { month: 3, total });
  assert.equal(stats.completed, 1, `the report ran on a worker: ${JSON.stringify(stats)}`);
  assert.equal(stats.failed, 0);
  assert.equal(stats.crashedWorkers, 0);
});

async function freePort(): Promise<number> {
  const probe = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => probe.once('listening', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Starts a server program, reads one route once it answers (with `read`), stops it with
 * SIGTERM and returns what it served and the pool's statistics at exit.
 */
async function serveOnce<T>(
  file: string,
  cwd: string,
  route: string,
  read: (response: Response) => Promise<T>,
): Promise<{ body: T; stats: PoolStats }> {
  const port = await freePort();
  const statsFile = path.join(cwd, `stats-${path.basename(path.dirname(file))}-server.json`);
  const server = spawn(process.execPath, ['--import', OBSERVE, path.join(EXAMPLES, file)], {
    cwd,
    env: childEnv({ PORT: String(port), README_STATS: statsFile }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  server.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
  let body: T;
  try {
    body = await getWhenUp(`http://127.0.0.1:${port}${route}`, 15_000, read);
  } finally {
    server.kill('SIGTERM');
  }
  assert.equal(await exited, 0, `${file}: ${stderr}`);
  return { body, stats: JSON.parse(fs.readFileSync(statsFile, 'utf8')) as PoolStats };
}

async function getWhenUp<T>(url: string, withinMs: number, read: (response: Response) => Promise<T>): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    let response: Response;
    try {
      response = await fetch(url);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, 50));
      continue;
    }
    assert.equal(response.status, 200, url);
    return read(response);
  }
}
