// The README's "What a worker can see and do": a worker is a thread of the process, with the
// process's identity and permissions, its own copy of the modules, the environment as it was
// when the worker started, not the program's command line; only a call's values cross, and
// what arrives cannot reach the caller's prototypes. (The migration guide's "none" answers for
// idleTimeout, several pools and moving results rest on these tests too.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { configure, getPool, WorkerCrashedError } from 'smartasync';
import {
  chdir,
  exit,
  hostile,
  keepAndReturn,
  keptBytes,
  leaveWork,
  leftWork,
  look,
  request,
  setEnv,
} from './fixtures/worker-scope.ts';
import { describeExit, lastJson, runNode } from './fixtures/env/child.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(HERE, 'fixtures/worker-scope-main.ts');

// One worker and one line, so that consecutive calls meet the same worker.
process.env.SMARTASYNC_SCOPE_PROBE = 'set before the first call';
configure({ size: 1, headOfLine: false });

test('a worker is the same process: its pid, user and working directory; not the program’s command line', async () => {
  const seen = await look();
  assert.notEqual(seen.threadId, 0, 'it ran on a worker');
  assert.equal(seen.pid, process.pid);
  assert.equal(seen.uid, process.getuid?.());
  assert.equal(seen.cwd, process.cwd());
  // process.argv: Node and smartasync's worker entry, none of this program's arguments.
  assert.equal(seen.argv[0], process.execPath);
  assert.match(seen.argv[1]!, /worker\.js$/);
  assert.ok(!seen.argv.includes(process.argv[1]!), seen.argv.join(' '));
});

test("a worker's environment is a copy taken when it started; changes on either side stay there", async () => {
  const first = await look();
  assert.equal(first.env, 'set before the first call');
  process.env.SMARTASYNC_SCOPE_PROBE = 'changed after the worker started';
  const second = await look();
  assert.equal(second.threadId, first.threadId, 'the same worker');
  assert.equal(second.env, 'set before the first call');
  const set = await setEnv('SMARTASYNC_SET_ON_WORKER', 'yes');
  assert.equal(set.value, 'yes');
  assert.equal(process.env.SMARTASYNC_SET_ON_WORKER, undefined);
});

test("the caller's AsyncLocalStorage context does not cross", async () => {
  const seen = await request.run('request 42', () => look());
  assert.notEqual(seen.threadId, 0);
  assert.equal(seen.store, undefined);
});

test('a worker cannot change directory; process.exit() there ends only that worker, which is replaced', async () => {
  assert.equal(await chdir(os.tmpdir()), 'ERR_WORKER_UNSUPPORTED_OPERATION');
  const before = await look();
  const crashed = getPool().stats().crashedWorkers;
  await assert.rejects(exit(3), WorkerCrashedError);
  const after = await look();
  assert.notEqual(after.threadId, before.threadId, 'a new worker');
  assert.equal(after.pid, process.pid, 'the process lives on');
  assert.equal(getPool().stats().crashedWorkers, crashed + 1);
});

test('a result is copied back, never moved: the worker keeps its own', async () => {
  const { threadId, bytes } = await keepAndReturn(4096);
  assert.equal(bytes.byteLength, 4096);
  assert.equal(bytes[4095], 7);
  assert.deepEqual(await keptBytes(), { threadId, length: 4096, first: 7 });
});

test('values and errors from a worker cannot change prototypes on the caller', async () => {
  const value = await hostile(false);
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.ok(Object.hasOwn(value, '__proto__'), 'the key arrives as a key');
  const err = await hostile(true).then(
    () => assert.fail('hostile(true) threw'),
    (e: unknown) => e as Error & Record<string, unknown>,
  );
  assert.equal(err.message, 'hostile');
  assert.ok(err instanceof Error);
  assert.equal((err as { polluted?: unknown }).polluted, undefined);
  assert.equal(({} as { polluted?: unknown }).polluted, undefined, 'Object.prototype untouched');
  assert.equal((Error.prototype as { polluted?: unknown }).polluted, undefined);
});

test('one pool serves every wrapped function, and its idle workers stay (no idle timeout)', async () => {
  const pool = getPool();
  const before = pool.stats();
  const seen = await look();
  await chdir(os.tmpdir());
  const stats = pool.stats();
  assert.equal(stats.completed, before.completed + 2, 'both functions ran on the one pool');
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  assert.equal(pool.stats().workers, stats.workers, 'no worker retired while idle');
  assert.equal((await look()).threadId, seen.threadId, 'the same worker, still there');
});

test("a worker has the process's permissions: under Node's permission model it is refused what the main thread is", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'smartasync-scope-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const flags = ['--permission', '--allow-fs-read=*', '--allow-worker', '--no-warnings'];
  const refused = await runNode([...flags, MAIN, 'write', dir], dir);
  assert.equal(refused.code, 0, describeExit(refused));
  assert.deepEqual(lastJson(refused), { here: 'ERR_ACCESS_DENIED', worker: 'ERR_ACCESS_DENIED' });
  assert.deepEqual(fs.readdirSync(dir), []);

  const allowed = await runNode([...flags, `--allow-fs-write=${dir}`, MAIN, 'write', dir], dir);
  assert.equal(allowed.code, 0, describeExit(allowed));
  assert.deepEqual(lastJson(allowed), { here: 'written', worker: 'written' });
  assert.equal(fs.readFileSync(path.join(dir, 'worker.txt'), 'utf8'), 'from a worker');
});

test("a worker's console output goes to the process's stdout and stderr", async () => {
  const r = await runNode([MAIN, 'log', 'hello from a worker'], os.tmpdir());
  assert.equal(r.code, 0, describeExit(r));
  assert.equal(r.stdout, 'hello from a worker\n');
  assert.equal(r.stderr, 'hello from a worker (stderr)\n');
});

test('work a call leaves behind on its worker (a timer, an unawaited promise chain) runs while it is idle, with no further call', async () => {
  const worker = await leaveWork('idle');
  // Idle, the worker sleeps at most 20 ms at a time before it turns its event loop: 300 ms
  // is a generous bound. No call meanwhile: a call would wake the worker itself.
  await new Promise((r) => setTimeout(r, 300));
  const seen = await leftWork(); // its body runs before anything the wake-up let through
  assert.equal(seen.threadId, worker, 'the same worker');
  for (const what of ['idle: promise chain', 'idle: timer', 'idle: immediate'])
    assert.ok(seen.done.includes(what), `${what} ran: ${seen.done.join(', ') || 'nothing'}`);
});
